/**
 * A link whose far end is a test script: frames the peer sends are kept for inspection, and the
 * script hands the peer frames (or garbage) of its choosing. Scenario vectors and hostile-input
 * tests drive one real peer through it.
 */
import type { Link, LinkClosedInfo, LinkHandler } from "@capbus/core";

export class ScriptedLink implements Link {
  /** Frames the peer sent, oldest first; `take()` removes them. */
  readonly sent: Uint8Array[] = [];
  /** How the link closed, once it has. */
  closed: LinkClosedInfo | undefined;
  #handler: LinkHandler | undefined;

  send(frame: Uint8Array): void {
    if (!this.closed) this.sent.push(frame.slice());
  }

  close(code: string, reason: string): void {
    this.#finish({ code, reason, byRemote: false });
  }

  attach(handler: LinkHandler): void {
    this.#handler = handler;
  }

  /** Give the peer one frame, as if the remote end had sent it. */
  deliver(bytes: Uint8Array): void {
    if (this.closed) throw new Error("the link is closed");
    if (!this.#handler) throw new Error("the peer has not attached to the link");
    this.#handler.frame(bytes);
  }

  /** The remote end goes away. */
  remoteClose(code: string, reason: string): void {
    this.#finish({ code, reason, byRemote: true });
  }

  /** Remove and return the frames sent so far. */
  take(): Uint8Array[] {
    return this.sent.splice(0);
  }

  #finish(info: LinkClosedInfo): void {
    if (this.closed) return;
    this.closed = info;
    this.#handler?.closed(info);
  }
}
