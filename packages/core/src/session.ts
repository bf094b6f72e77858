/**
 * One link as the peer sees it: encodes and decodes frames with the link's own codec, numbers
 * outgoing frames and checks incoming numbering (spec/wire.md §Envelope), and turns every bad
 * frame into a close of this link alone, with the error's code and a reason.
 */
import { type Frame, FrameCodec, WireError } from "@capbus/wire";
import { CapbusError } from "./errors.js";
import type { Link, LinkClosedInfo } from "./link.js";

/** A frame as the peer writes it: the session fills in `seq` and `ack`. */
export type FrameBody = Frame extends infer F ? (F extends unknown ? Omit<F, "seq" | "ack"> : never) : never;

export interface SessionHandler {
  /** A valid, in-order frame. Throwing a CapbusError closes the link with its code. */
  frame(session: LinkSession, frame: Frame): void;
  closed(session: LinkSession, info: LinkClosedInfo): void;
}

export class LinkSession {
  /** The remote peer's id, known from the start (dialled) or from its hello. */
  remote: string | undefined;
  readonly #link: Link;
  readonly #codec = new FrameCodec();
  readonly #handler: SessionHandler;
  #sendSeq = 0;
  #recvSeq = 0;
  #closed = false;
  #reported = false;

  constructor(link: Link, handler: SessionHandler, remote?: string) {
    this.#link = link;
    this.#handler = handler;
    this.remote = remote;
    link.attach({
      frame: (bytes) => this.#receive(bytes),
      closed: (info) => this.#onClosed(info),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(body: FrameBody): void {
    if (this.#closed) return;
    const unsequenced = body.type === "ack" || body.type === "close";
    const seq = unsequenced ? 0 : ++this.#sendSeq;
    const frame = { ...body, seq, ack: this.#recvSeq } as Frame;
    this.#link.send(this.#codec.encode(frame));
  }

  /** Close with a close frame carrying the code and reason, then close the link. */
  close(code: string, reason: string): void {
    if (this.#closed) return;
    this.send({ type: "close", code, reason });
    this.#closed = true;
    this.#link.close(code, reason);
  }

  #receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    let frame: Frame;
    try {
      frame = this.#codec.decode(bytes);
    } catch (error) {
      if (error instanceof WireError) return this.close(error.code, error.message);
      throw error;
    }
    if (frame.type === "close") {
      this.#closed = true;
      this.#report({ code: frame.code, reason: frame.reason, byRemote: true });
      this.#link.close(frame.code, frame.reason);
      return;
    }
    if (frame.ack > this.#sendSeq) {
      return this.close("E_PROTOCOL", `ack ${frame.ack} for frames never sent (last ${this.#sendSeq})`);
    }
    if (frame.type !== "ack") {
      if (frame.seq !== this.#recvSeq + 1) {
        return this.close("E_SEQUENCE", `frame seq ${frame.seq}, expected ${this.#recvSeq + 1}`);
      }
      this.#recvSeq = frame.seq;
    }
    try {
      this.#handler.frame(this, frame);
    } catch (error) {
      if (error instanceof CapbusError) return this.close(error.code, error.message);
      throw error;
    }
  }

  #onClosed(info: LinkClosedInfo): void {
    this.#closed = true;
    this.#report(info);
  }

  // Whichever end closed, and however, the handler hears of it exactly once.
  #report(info: LinkClosedInfo): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#handler.closed(this, info);
  }
}
