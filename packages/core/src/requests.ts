/**
 * Request/reply on top of ordered messages (spec/ordering.md §13). A peer keeps one reply node
 * for all its requests (a fresh node per call would cost a release notification every time); the
 * first request to a peer carries a handle to it, later ones (once that peer holds it) are plain
 * unicasts on the fast path, and the reply is an ordinary ordered message to that node.
 */
import { CapbusError } from "./errors.js";
import type { PeerEvent, SendResult } from "./events.js";
import type { Handle, Node } from "./handles.js";
import { RequestMessage } from "./message.js";
import type { SendOptions } from "./peer.js";
import { abortedBy } from "./sender.js";

/** Payload envelopes. Keys start with `$` so they cannot be mistaken for ordinary payloads. */
interface RequestEnvelope {
  readonly $request: number;
  readonly body: unknown;
}
interface ReplyEnvelope {
  readonly $reply: number;
  readonly body: unknown;
}

export interface RequestHost {
  createNode(): Node;
  send(to: Handle, payload: unknown, options: SendOptions): Promise<SendResult>;
  /**
   * `send` with no options, its result to `settle` or its failure to `fail` rather than through a
   * promise; false (nothing sent) where `send` would have to wait for a link.
   */
  sendBare(
    to: Handle,
    payload: unknown,
    settle: (result: SendResult) => void,
    fail: (error: unknown) => void,
  ): boolean;
  /** Does `peer` hold a reference to this peer's `node` (the owner's count)? */
  holds(node: Node, peer: string): boolean;
}

/** A request waiting for its reply: how to settle its caller, and its abort listener. */
interface Waiting {
  readonly resolve: (body: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly abort: (() => void) | undefined;
}

/** Where `new Promise(takeSettlers)` leaves its settlers, read at once by the caller. */
const settlers: { resolve: (value: unknown) => void; reject: (error: unknown) => void } = {
  resolve: () => {},
  reject: () => {},
};

function takeSettlers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  settlers.resolve = resolve;
  settlers.reject = reject;
}

/** Options of a request's message that carries no handle, and of a reply: shared, not made per call. */
const BARE: SendOptions = Object.freeze({});

export class Requests {
  readonly #host: RequestHost;
  #replyNode: Node | undefined;
  #nextId = 0;
  readonly #waiting = new Map<number, Waiting>();
  /**
   * One waiting request kept outside #waiting (a sequential caller has one at a time): a Map
   * entry added and deleted per round trip cost a rehash of the Map every few.
   */
  #soloId = 0;
  #solo: Waiting | undefined = undefined;
  /** Peers a request delivered the reply handle to: later requests need not carry it. */
  readonly #granted = new Set<string>();
  /** Per requesting peer, the reply handle its last handle-carrying request brought. */
  readonly #replyTo = new Map<string, Handle>();

  constructor(host: RequestHost) {
    this.#host = host;
  }

  /**
   * Send the request and resolve with the reply's body. Not an async function: one promise for
   * the caller, settled by the reply or by the request's failure, and one reaction to the send.
   */
  request(to: Handle, payload: unknown, options: SendOptions): Promise<unknown> {
    try {
      return this.#request(to, payload, options);
    } catch (error) {
      return Promise.reject(error); // a closed peer, a bad handle: a rejection, never a throw
    }
  }

  #request(to: Handle, payload: unknown, options: SendOptions): Promise<unknown> {
    this.#replyNode ??= this.#host.createNode();
    const replyNode = this.#replyNode;
    const id = ++this.#nextId;
    const envelope: RequestEnvelope = { $request: id, body: payload };
    const extra = options.handles ?? [];
    // The destination peer holds the reply handle already: send no handle, so the request is a
    // plain unicast (fast path, spec/ordering.md §6) instead of a round. Its receiver replies through the handle
    // an earlier request from this peer brought, delivered before this one (FIFO, P3).
    const bare = extra.length === 0 && this.#granted.has(to.owner) && this.#host.holds(replyNode, to.owner);
    const signal = options.signal;
    const sendOptions =
      bare && signal === undefined
        ? BARE
        : { ...options, handles: bare ? extra : [replyNode.handle, ...extra] };
    // No executor closure per request: the settlers are taken by a shared function.
    const promise = new Promise<unknown>(takeSettlers);
    const abort = signal && (() => this.#fail(id, abortedBy(signal, "the request")));
    const waiting: Waiting = { resolve: settlers.resolve, reject: settlers.reject, signal, abort };
    if (this.#solo === undefined) {
      this.#solo = waiting;
      this.#soloId = id;
    } else this.#waiting.set(id, waiting);
    if (abort) signal?.addEventListener("abort", abort, { once: true });
    const settle = this.#settler(id, to, bare);
    const fail = this.#failer(id);
    try {
      // A bare request on a linked session: its result comes to `settle` with no promise.
      if (sendOptions === BARE && this.#host.sendBare(to, envelope, settle, fail)) return promise;
      this.#host.send(to, envelope, sendOptions).then(settle, fail);
    } catch (error) {
      this.#fail(id, error);
    }
    return promise;
  }

  /** What the request `id`'s send result does: fail it if not delivered. (Unnamed: see #replier.) */
  #settler(id: number, to: Handle, bare: boolean): (result: SendResult) => void {
    return (result) => {
      // One destination: `ok` is its `committed`, read without building the destinations list.
      if (!result.ok) {
        const code = result.destinations[0]?.code ?? "E_LINK_CLOSED";
        this.#fail(id, new CapbusError(code, `request to ${to.name} not delivered`));
      } else if (!bare) this.#granted.add(to.owner);
    };
  }

  #failer(id: number): (error: unknown) => void {
    return (error) => this.#fail(id, error);
  }

  /**
   * Look at a delivery before the application does: replies to this peer's reply node settle
   * their request and go no further; requests get a `reply` function. Returns what to deliver.
   */
  intercept(event: PeerEvent): PeerEvent | undefined {
    const replyNode = this.#replyNode;
    const node = event.kind === "destroyed" ? event.handle : event.node.handle;
    if (replyNode && node === replyNode.handle) {
      if (event.kind === "message" && isReply(event.payload))
        this.#settle(event.payload.$reply)?.resolve(event.payload.body);
      return undefined; // replies and notifications of the reply node are internal
    }
    if (event.kind !== "message" || !isRequest(event.payload)) return event;
    // Read once: a Message builds its timestamp object on each read.
    const ts = event.ts;
    const sender = ts.peer;
    const first = event.handles[0];
    let replyTo: Handle;
    let handles: readonly Handle[];
    if (first !== undefined && first.owner === sender) {
      replyTo = first;
      handles = event.handles.slice(1);
      this.#replyTo.set(sender, replyTo);
    } else if (event.handles.length === 0) {
      // A request without the handle: its sender's reply handle came with an earlier request.
      const known = this.#replyTo.get(sender);
      if (known === undefined || known.state !== "live") return event;
      replyTo = known;
      handles = event.handles;
    } else return event;
    const reply = this.#replier(replyTo, event.payload.$request);
    return new RequestMessage(event.node, event.payload.body, handles, ts, reply);
  }

  /**
   * The request's `reply`. Returned unnamed: a closure bound to a name costs a defineProperty per
   * request where names are kept (tsx, esbuild's keepNames: 13% of the receive path in row 3).
   */
  #replier(replyTo: Handle, id: number): (body: unknown) => Promise<SendResult> {
    let replied = false;
    return (body) => {
      if (replied) return Promise.reject(new CapbusError("E_DUPLICATE", "a request is answered once"));
      replied = true;
      return this.#host.send(replyTo, { $reply: id, body } satisfies ReplyEnvelope, BARE);
    };
  }

  /** The session with `remote` ended: the next request to it carries the reply handle again. */
  lost(remote: string): void {
    this.#granted.delete(remote);
    this.#replyTo.delete(remote);
  }

  /** The peer is closing: requests still waiting fail. */
  close(): void {
    const ids = [...this.#waiting.keys()];
    if (this.#solo !== undefined) ids.push(this.#soloId);
    for (const id of ids.sort((a, b) => a - b))
      this.#fail(id, new CapbusError("E_CLOSED", "the peer closed"));
  }

  #fail(id: number, error: unknown): void {
    this.#settle(id)?.reject(error);
  }

  /** The request `id` is answered or failed: no longer waiting, nor listening to its signal. */
  #settle(id: number): Waiting | undefined {
    let waiting: Waiting | undefined;
    if (this.#solo !== undefined && this.#soloId === id) {
      waiting = this.#solo;
      this.#solo = undefined;
    } else {
      waiting = this.#waiting.get(id);
      if (waiting === undefined) return undefined;
      this.#waiting.delete(id);
    }
    if (waiting.abort) waiting.signal?.removeEventListener("abort", waiting.abort);
    return waiting;
  }
}

function isRequest(payload: unknown): payload is RequestEnvelope {
  return (
    typeof payload === "object" &&
    payload !== null &&
    typeof (payload as RequestEnvelope).$request === "number"
  );
}

function isReply(payload: unknown): payload is ReplyEnvelope {
  return (
    typeof payload === "object" && payload !== null && typeof (payload as ReplyEnvelope).$reply === "number"
  );
}
