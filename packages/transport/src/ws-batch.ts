/**
 * WebSocket message batching (spec/transports.md §1.1). A binary message holds one frame, or a
 * batch: the byte 0x00 (never the first byte of a frame, which is a CBOR array head), then one or
 * more frames, each behind its length as a 4-byte big-endian integer. Batches let a link send
 * every frame of a tick in one message; a single frame still goes alone, unchanged.
 */
import { TransportErrorCode } from "./errors.js";

/** First byte of a batch message. */
export const WS_BATCH_MARK = 0x00;

/** What splitting a message gives: its frames, or why the link must close. */
export type WsSplit =
  | { readonly ok: true; readonly frames: readonly Uint8Array[] }
  | { readonly ok: false; readonly code: TransportErrorCode; readonly reason: string };

/**
 * The frames of one received binary message. A message that is not a batch is one frame, passed
 * on as it is (the frame codec judges it). Frames are views into `message`.
 */
export function splitWsMessage(message: Uint8Array, maxFrameBytes: number): WsSplit {
  if (message.byteLength === 0 || message[0] !== WS_BATCH_MARK) {
    if (message.byteLength > maxFrameBytes) {
      return bad(TransportErrorCode.E_TOO_LARGE, `a ${message.byteLength}-byte message`);
    }
    return { ok: true, frames: [message] };
  }
  const frames: Uint8Array[] = [];
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  let at = 1;
  while (at < message.byteLength) {
    if (at + 4 > message.byteLength) return bad(TransportErrorCode.E_CBOR, "a batch cut short in a length");
    const length = view.getUint32(at);
    at += 4;
    if (length > maxFrameBytes)
      return bad(TransportErrorCode.E_TOO_LARGE, `a ${length}-byte frame in a batch`);
    if (at + length > message.byteLength)
      return bad(TransportErrorCode.E_CBOR, "a batch cut short in a frame");
    frames.push(message.subarray(at, at + length));
    at += length;
  }
  if (frames.length === 0) return bad(TransportErrorCode.E_CBOR, "a batch without frames");
  return { ok: true, frames };
}

function bad(code: TransportErrorCode, reason: string): WsSplit {
  return { ok: false, code, reason };
}

/**
 * One message for `frames`: the frame itself when there is one, a batch otherwise. (A lone frame
 * that starts with the mark, never a real frame, goes as a batch of one: links carry any bytes.)
 */
export function joinWsBatch(frames: readonly Uint8Array[]): Uint8Array {
  const first = frames[0];
  if (frames.length === 1 && first !== undefined && (first.byteLength === 0 || first[0] !== WS_BATCH_MARK)) {
    return first;
  }
  let size = 1;
  for (const frame of frames) size += 4 + frame.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = WS_BATCH_MARK;
  let at = 1;
  for (const frame of frames) {
    view.setUint32(at, frame.byteLength);
    out.set(frame, at + 4);
    at += 4 + frame.byteLength;
  }
  return out;
}

/** Frames larger than this go in a message of their own: copying them into a batch gains nothing. */
export const WS_BATCH_FRAME_MAX = 16 * 1024;
/**
 * Longest batch of several frames. Receivers accept a message of `wsMessageLimit(maxFrameBytes)`
 * bytes: a batch this long, or one frame of `maxFrameBytes` (as a batch of one, 5 bytes more).
 */
export const WS_BATCH_BYTES = 64 * 1024;
/** A batch this long goes at once rather than at the flush (spec/transports.md §1.1). */
export const WS_EAGER_BYTES = 16 * 1024;

/**
 * Collects the frames a link sends within one tick and hands them to `write` as one message, when
 * `schedule` runs the flush (so the frames of one synchronous burst, e.g. the answers to one
 * received batch, travel together). Order is kept: a large frame flushes what is queued before it goes alone.
 */
export class WsBatcher {
  readonly #write: (message: Uint8Array) => void;
  readonly #schedule: (flush: () => void) => void;
  #frames: Uint8Array[] = [];
  /** Size of the batch message the queued frames make: the mark, and a length per frame. */
  #bytes = 1;
  #scheduled = false;
  /**
   * Whether the remote reads batch messages (negotiated in the hellos, spec/transports.md §1.1).
   * Until it is known, and when it does not, every frame goes in a message of its own, at once.
   */
  batching = false;

  /** `schedule` runs the flush later: a microtask by default (Node's link passes setImmediate). */
  constructor(
    write: (message: Uint8Array) => void,
    // Wrapped: a browser's queueMicrotask called as a method of this object throws "Illegal invocation".
    schedule: (flush: () => void) => void = (flush) => queueMicrotask(flush),
  ) {
    this.#write = write;
    this.#schedule = schedule;
  }

  /** Queue `frame` for the next flush; a large one goes at once, alone, after what is queued. */
  push(frame: Uint8Array): void {
    if (!this.batching) {
      this.flush();
      this.#write(joinWsBatch([frame]));
      return;
    }
    if (frame.byteLength > WS_BATCH_FRAME_MAX) {
      this.flush();
      this.#write(joinWsBatch([frame]));
      return;
    }
    if (this.#bytes + 4 + frame.byteLength > WS_BATCH_BYTES) this.flush();
    this.#frames.push(frame);
    this.#bytes += frame.byteLength + 4;
    // A burst that does not end its tick for a while (a loop on promise callbacks) sends as it
    // goes, once a batch is worth a message, so the remote works on it meanwhile.
    if (this.#bytes >= WS_EAGER_BYTES) return this.flush();
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#scheduledFlush);
    }
  }

  /** The scheduled flush: one function for every turn, not a closure made per turn. */
  readonly #scheduledFlush = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Send what is queued now (before a close, or when the batch is full). */
  flush(): void {
    if (this.#frames.length === 0) return;
    const frames = this.#frames;
    this.#frames = [];
    this.#bytes = 1;
    this.#write(joinWsBatch(frames));
  }

  /** Forget what is queued (the socket is gone). */
  clear(): void {
    this.#frames = [];
    this.#bytes = 1;
  }
}

/** Longest message a receiver with this `maxFrameBytes` accepts (its WebSocket `maxPayload`). */
export function wsMessageLimit(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes + 5, WS_BATCH_BYTES);
}
