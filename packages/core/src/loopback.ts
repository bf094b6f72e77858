import type { Link, LinkHandler } from "./link.js";

/**
 * A link from a peer to itself, so sends to its own nodes take the same ordered path as any
 * other. Frames are delivered on a microtask, never inside `send`, so no handler re-enters.
 */
export class LoopbackLink implements Link {
  #handler: LinkHandler | undefined;
  #closed = false;

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    const copy = frame.slice();
    queueMicrotask(() => {
      if (!this.#closed) this.#handler?.frame(copy);
    });
  }

  close(code: string, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    queueMicrotask(() => this.#handler?.closed({ code, reason, byRemote: false }));
  }

  attach(handler: LinkHandler): void {
    this.#handler = handler;
  }
}
