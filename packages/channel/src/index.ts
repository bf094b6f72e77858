/**
 * Typed channels: a zod schema for the messages of a kind of node, defined once and checked at
 * both ends. `send` is typed by the schema and validates before anything leaves; what arrives is
 * validated, and a peer that sends junk gets a readable `ChannelPayloadError` (E_CHANNEL_PAYLOAD)
 * instead of a surprise deep in the application. Typing is optional: the peer's own `send`,
 * bytes and plain CBOR values work as before, and a channel never changes what goes on the wire.
 *
 * ```ts
 * const chat = channel(z.object({ from: z.string(), text: z.string() }), { name: "chat" });
 * await chat.send(peer, room, { from: "ann", text: "hi" }); // typed, validated
 * for await (const event of chat.receive(peer)) {
 *   if (event.kind === "message") console.log(event.value.text); // typed
 * }
 *
 * // Request/reply, typed both ways: the reply schema checks the answer at both ends.
 * const clock = channel(z.object({ zone: z.string() }), { reply: z.object({ time: z.string() }) });
 * const { time } = await clock.request(peer, service, { zone: "UTC" }); // typed reply
 * for await (const event of clock.receive(service)) {
 *   if (event.kind === "message") await event.reply?.({ time: now(event.value.zone) }); // typed
 * }
 * ```
 *
 * @module @capbus/channel
 */
import type { Handle, MessageEvent, Node, PeerEvent, SendOptions, SendResult } from "@capbus/core";
import { z } from "zod";

/** What a channel needs of a peer: its `send` (any @capbus/core or @capbus/node Peer). */
export interface Sender {
  /** Send `payload` to one handle or several (multicast), as Peer.send does. */
  send(to: Handle | readonly Handle[], payload: unknown, options?: SendOptions): Promise<SendResult>;
}

/** What a channel's `request` needs of a peer: its `request` (any @capbus/core or @capbus/node Peer). */
export interface Requester {
  /** Send `payload` as a request to one handle and resolve with the reply's payload, as Peer.request does. */
  request(to: Handle, payload: unknown, options?: SendOptions): Promise<unknown>;
}

/** The code of a ChannelPayloadError: a value that does not match the channel's schema. */
export const E_CHANNEL_PAYLOAD = "E_CHANNEL_PAYLOAD";

/** A value that does not match a channel's schema, on the way out or on arrival. */
export class ChannelPayloadError extends Error {
  override readonly name = "ChannelPayloadError";
  readonly code = E_CHANNEL_PAYLOAD;
  /** `send`: the program tried to send it (a reply too); `receive`: a peer sent it (a reply too). */
  readonly direction: "send" | "receive";
  /** The channel's name. */
  readonly channel: string;
  /** For `receive`: the offending event id (`<sender>:<seq>`) and the sender's peer id. */
  readonly event: string | undefined;
  readonly sender: string | undefined;
  /** zod's issues, one per mismatch. */
  readonly issues: readonly z.core.$ZodIssue[];
  /** The value as given or received. */
  readonly value: unknown;

  constructor(
    details: {
      direction: "send" | "receive";
      channel: string;
      error: z.ZodError;
      value: unknown;
      event?: MessageEvent;
      /** What it was, when not the channel's message: a reply (said in the error's message). */
      what?: string;
    },
    options?: ErrorOptions,
  ) {
    const where =
      details.what !== undefined
        ? `${details.what} on channel "${details.channel}"`
        : details.direction === "send"
          ? `cannot send on channel "${details.channel}"`
          : `message ${details.event?.event} from ${senderOf(details.event)} to ${details.event?.node.name} ` +
            `does not match channel "${details.channel}"`;
    super(`${E_CHANNEL_PAYLOAD}: ${where}:\n${z.prettifyError(details.error)}`, {
      cause: details.error,
      ...options,
    });
    this.direction = details.direction;
    this.channel = details.channel;
    this.event = details.event?.event;
    this.sender = details.event ? senderOf(details.event) : undefined;
    this.issues = details.error.issues;
    this.value = details.value;
  }
}

/**
 * A message whose payload matched the channel: `value` is the parsed, typed payload. For a request,
 * `reply` takes the channel's reply type and checks it against the reply schema before it is sent
 * (a mismatch rejects with ChannelPayloadError, direction `send`, and sends nothing).
 */
export interface TypedMessage<T, RIn = unknown> extends Omit<MessageEvent, "reply"> {
  /** The payload, parsed by the channel's schema. */
  readonly value: T;
  /** Present when the message is a request: answer it (once) with a value of the reply type. */
  readonly reply?: (value: RIn) => Promise<SendResult>;
}

/** What a channel's `receive` yields: typed messages, and the peer's notifications unchanged. */
export type ChannelEvent<T, RIn = unknown> = TypedMessage<T, RIn> | Exclude<PeerEvent, MessageEvent>;

/** The result of `safeParse`: the parsed value, or the error that `parse` would have thrown. */
export type SafeParse<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ChannelPayloadError };

/** Options of a channel's `receive`. */
export interface ReceiveOptions {
  /** Only messages to these nodes are parsed and yielded; other messages are skipped. @default all */
  nodes?: readonly Node[];
  /**
   * What to do with a message that does not match: `throw` ends the iteration with the error,
   * `skip` drops it, a function is called with the error and the message is dropped.
   * @default "throw"
   */
  onInvalid?: "throw" | "skip" | ((error: ChannelPayloadError) => void);
}

/** A handle whose node speaks a channel: `send` and `request` take only the channel's values. */
export interface TypedHandle<T, In = T, R = unknown, RIn = R> {
  /** The untyped handle underneath. */
  readonly handle: Handle;
  /** The channel that types it. */
  readonly channel: Channel<T, In, R, RIn>;
  /** Validate `value`, then send it to this handle. */
  send(peer: Sender, value: In, options?: SendOptions): Promise<SendResult>;
  /** Validate `value`, send it as a request to this handle, and resolve with the checked reply. */
  request(peer: Requester, value: In, options?: SendOptions): Promise<R>;
}

/** Options of `channel`. */
export interface ChannelOptions<R, RIn> {
  /** A name for error messages. @default "channel-<n>" */
  readonly name?: string;
  /**
   * The schema of replies to requests on this channel: `request` resolves with a reply it parsed,
   * and a typed message's `reply` checks its value before sending. @default undefined: replies unchecked
   */
  readonly reply?: z.ZodType<R, RIn>;
}

/** A kind of node's message type: a zod schema, checked on send and on arrival (see `channel`). */
export interface Channel<T, In = T, R = unknown, RIn = R> {
  /** A name for error messages. */
  readonly name: string;
  /** The schema every message is checked against. */
  readonly schema: z.ZodType<T, In>;
  /** The schema of replies, when the channel has one. */
  readonly replySchema: z.ZodType<R, RIn> | undefined;
  /** Validate `value`, then send it (as given) to one handle or several (multicast). */
  send(
    peer: Sender,
    to: Handle | TypedHandle<T, In, R, RIn> | readonly (Handle | TypedHandle<T, In, R, RIn>)[],
    value: In,
    options?: SendOptions,
  ): Promise<SendResult>;
  /**
   * Validate `value`, send it as a request (Peer.request) and resolve with the reply, parsed by
   * the reply schema: a reply that does not match rejects with ChannelPayloadError (direction
   * `receive`). `options.signal` bounds the wait.
   */
  request(
    peer: Requester,
    to: Handle | TypedHandle<T, In, R, RIn>,
    value: In,
    options?: SendOptions,
  ): Promise<R>;
  /**
   * Answer the request `event` with `value`, checked by the reply schema first (a mismatch
   * rejects with ChannelPayloadError, direction `send`, and sends nothing). For messages taken
   * with `parse`; `receive` gives each request a typed `reply` that does this.
   */
  reply(event: MessageEvent, value: RIn): Promise<SendResult>;
  /** The typed payload of a message; throws ChannelPayloadError when it does not match. */
  parse(event: MessageEvent): T;
  /** Like parse, without throwing. */
  safeParse(event: MessageEvent): SafeParse<T>;
  /** Validate a value about to be sent; throws ChannelPayloadError (direction `send`). */
  check(value: In): T;
  /**
   * Iterate a peer's events (or any source of them): messages come parsed as TypedMessage, with
   * destroyed and released notifications passed through as they are.
   */
  receive(source: AsyncIterable<PeerEvent>, options?: ReceiveOptions): AsyncIterable<ChannelEvent<T, RIn>>;
  /** Give a handle (one received in a message, or imported) this channel's type. */
  adopt(handle: Handle): TypedHandle<T, In, R, RIn>;
}

let unnamed = 0;

/**
 * Define a channel: the schema of the messages a kind of node accepts. The sender's `send` is
 * typed by it and checks before anything leaves; the receiver's `parse` and `receive` check
 * what arrives and throw `ChannelPayloadError` (E_CHANNEL_PAYLOAD) on junk. With `options.reply`,
 * the schema of the replies to requests on it: `request` resolves with a checked reply, and a
 * request's `reply` checks its value before sending.
 *
 * @example
 * ```ts
 * import { channel } from "capbus/channel";
 * import { startPeer } from "capbus/node";
 * import { z } from "zod";
 *
 * const chat = channel(z.object({ from: z.string(), text: z.string() }), { name: "chat" });
 * const a = await startPeer();
 * const b = await startPeer();
 * const room = chat.adopt(await b.peer.import(a.peer.export(a.peer.createNode())));
 * await chat.send(b.peer, room, { from: "ann", text: "hi" }); // typed, validated before it leaves
 * for await (const event of chat.receive(a.peer)) {
 *   if (event.kind === "message") console.log(event.value.from, event.value.text); // typed
 * }
 * ```
 */
export function channel<T, In = T, R = unknown, RIn = R>(
  schema: z.ZodType<T, In>,
  options: ChannelOptions<R, RIn> = {},
): Channel<T, In, R, RIn> {
  const name = options.name ?? `channel-${++unnamed}`;
  const replySchema = options.reply;
  const self: Channel<T, In, R, RIn> = {
    name,
    schema,
    replySchema,
    check(value) {
      const result = schema.safeParse(value);
      if (!result.success)
        throw new ChannelPayloadError({ direction: "send", channel: name, error: result.error, value });
      return result.data;
    },
    send(peer, to, value, sendOptions) {
      try {
        self.check(value);
      } catch (error) {
        return Promise.reject(error);
      }
      const targets = Array.isArray(to) ? to.map(unwrap) : unwrap(to as Handle | TypedHandle<T, In, R, RIn>);
      return peer.send(targets, value, sendOptions);
    },
    async request(peer, to, value, sendOptions) {
      self.check(value);
      const handle = unwrap(to);
      const answer = await peer.request(handle, value, sendOptions);
      if (replySchema === undefined) return answer as R;
      const result = replySchema.safeParse(answer);
      if (result.success) return result.data;
      throw new ChannelPayloadError({
        direction: "receive",
        channel: name,
        error: result.error,
        value: answer,
        what: `the reply from ${handle.owner} to a request to ${handle.name} does not match the reply schema`,
      });
    },
    reply(event, value) {
      if (event.reply === undefined)
        return Promise.reject(new TypeError(`${event.event} is not a request: there is nothing to reply to`));
      if (replySchema !== undefined) {
        const result = replySchema.safeParse(value);
        if (!result.success)
          return Promise.reject(
            new ChannelPayloadError({
              direction: "send",
              channel: name,
              error: result.error,
              value,
              what: `cannot reply to ${event.event} with a value that does not match the reply schema`,
            }),
          );
      }
      return event.reply(value);
    },
    safeParse(event) {
      const result = schema.safeParse(event.payload);
      if (result.success) return { ok: true, value: result.data };
      return {
        ok: false,
        error: new ChannelPayloadError({
          direction: "receive",
          channel: name,
          error: result.error,
          value: event.payload,
          event,
        }),
      };
    },
    parse(event) {
      const result = self.safeParse(event);
      if (!result.ok) throw result.error;
      return result.value;
    },
    async *receive(source, receiveOptions = {}) {
      const nodes = receiveOptions.nodes ? new Set(receiveOptions.nodes.map((n) => n.name)) : undefined;
      const onInvalid = receiveOptions.onInvalid ?? "throw";
      for await (const event of source) {
        if (event.kind !== "message") {
          yield event;
          continue;
        }
        if (nodes && !nodes.has(event.node.name)) continue;
        const result = self.safeParse(event);
        if (result.ok) {
          const reply = event.reply ? (value: RIn) => self.reply(event, value) : undefined;
          yield Object.assign(Object.create(null) as object, event, {
            value: result.value,
            reply,
          }) as TypedMessage<T, RIn>;
        } else if (onInvalid === "throw") {
          throw result.error;
        } else if (typeof onInvalid === "function") {
          onInvalid(result.error);
        }
      }
    },
    adopt(handle) {
      return {
        handle,
        channel: self,
        send: (peer, value, sendOptions) => self.send(peer, handle, value, sendOptions),
        request: (peer, value, sendOptions) => self.request(peer, handle, value, sendOptions),
      };
    },
  };
  return self;
}

function unwrap<T, In, R, RIn>(to: Handle | TypedHandle<T, In, R, RIn>): Handle {
  return "channel" in to && "handle" in to ? to.handle : (to as Handle);
}

/** The sender's peer id, from the event id `<sender>:<seq>`. */
function senderOf(event: MessageEvent | undefined): string {
  if (event === undefined) return "?";
  const at = event.event.lastIndexOf(":");
  return at < 0 ? event.event : event.event.slice(0, at);
}
