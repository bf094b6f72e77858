/**
 * A delivered message as the application gets it (a MessageEvent), kept lean because it may wait
 * unread in the mailbox (issue 19): the event id and the timestamp are not stored as a string and
 * an object but built when read, from the fields they are made of. A plain object with both took
 * 136 bytes more per event (the id's concatenated strings alone took 88).
 */
import type { MessageEvent, SendResult } from "./events.js";
import type { Handle, Node } from "./handles.js";
import type { Timestamp } from "./timestamp.js";

type ReplyFn = (payload: unknown) => Promise<SendResult>;

/**
 * A clock value (about 2^51) is no small integer to V8: kept in one field it is boxed, 16 more
 * bytes. Split at 2^26, both halves are small integers, stored in the fields themselves.
 */
const SPLIT = 2 ** 26;

export class Message implements MessageEvent {
  /** An own property, so a spread or a structured clone keeps the union's discriminant. */
  readonly kind = "message" as const;
  readonly node: Node;
  readonly payload: unknown;
  readonly handles: readonly Handle[];
  readonly #high: number;
  readonly #low: number;
  readonly #peer: string;
  readonly #seq: number;

  constructor(node: Node, payload: unknown, handles: readonly Handle[], ts: Timestamp) {
    this.node = node;
    this.payload = payload;
    this.handles = handles;
    this.#high = Math.floor(ts.lamport / SPLIT);
    this.#low = ts.lamport - this.#high * SPLIT;
    this.#peer = ts.peer;
    this.#seq = ts.seq;
  }

  /** `<sender peer>:<seq>`, built on each read. */
  get event(): string {
    return `${this.#peer}:${this.#seq}`;
  }

  /** A fresh object on each read (equal each time): stored, it would cost 64 bytes per event. */
  get ts(): Timestamp {
    return { lamport: this.#high * SPLIT + this.#low, peer: this.#peer, seq: this.#seq };
  }

  /** JSON keeps what the getters give, as it did for the plain object this replaced. */
  toJSON(): Omit<MessageEvent, "reply"> {
    const { kind, event, node, payload, handles, ts } = this;
    return { kind, event, node, payload, handles, ts };
  }

  /** Node's console.log shows the getters too (a registered symbol: no import of node:util). */
  [Symbol.for("nodejs.util.inspect.custom")](): object {
    return this.toJSON();
  }
}

/**
 * A request (spec/ordering.md §13), answered with `reply`: a subclass, so that only requests carry
 * the field and plain messages do not pay for it.
 */
export class RequestMessage extends Message {
  readonly reply: ReplyFn;

  constructor(node: Node, payload: unknown, handles: readonly Handle[], ts: Timestamp, reply: ReplyFn) {
    super(node, payload, handles, ts);
    this.reply = reply;
  }
}
