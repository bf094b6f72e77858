/**
 * What every socket link shares (spec/transports.md §1, spec/transports.md §5): holding frames until `attach`, the
 * three ways a link ends (this end closes it, this end refuses what the remote sent, the
 * transport breaks), liveness timers, and reporting the end once. The ws, stream and browser
 * links supply only their socket's writes and how it is ended.
 */
import type { LinkClosedInfo, LinkHandler, Runtime } from "@capbus/core";
import { FrameCodec } from "@capbus/wire";
import type { TransportLink } from "./dialer.js";
import { TransportErrorCode } from "./errors.js";
import { Liveness, type LivenessOptions } from "./liveness.js";

const closeCodec = new FrameCodec();

/** A `close` frame (spec/wire.md §5.11) a transport writes itself, outside any session's numbering. */
export function closeFrame(code: string, reason: string): Uint8Array {
  return closeCodec.encode({ type: "close", seq: 0, ack: 0, code, reason });
}

/**
 * The base of the ws, stream and browser links: a subclass writes frames and ends its socket; this
 * class holds early frames, reports the end once, and runs the liveness timers.
 */
export abstract class LinkBase implements TransportLink {
  /** Settles with why the link ended, once it has. */
  readonly done: Promise<LinkClosedInfo>;
  /** Heartbeat and dead-link timers: subclasses report traffic both ways to it. */
  protected readonly live: Liveness;
  #handler: LinkHandler | undefined;
  #early: Uint8Array[] = [];
  #closing = false;
  #info: LinkClosedInfo | undefined;
  #resolveDone!: (info: LinkClosedInfo) => void;

  /** `runtime` drives the liveness timers, set by `liveness`. */
  protected constructor(runtime: Runtime, liveness: LivenessOptions) {
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    // The callbacks run on later timer ticks, after the subclass has set up its socket.
    this.live = new Liveness(
      runtime,
      liveness,
      () => this.heartbeat(),
      () => this.broken(TransportErrorCode.E_LINK_DEAD, "nothing received within the dead-link timeout"),
    );
  }

  /** Bytes written but not yet handed to the network. */
  abstract get bufferedBytes(): number;
  /** Send a heartbeat the remote's transport counts as life. */
  protected abstract heartbeat(): void;
  /** Write one frame (framing and batching are the subclass's). */
  protected abstract write(frame: Uint8Array): void;
  /** End the socket in order, after what is written, telling the remote `code` if it can. */
  protected abstract endSocket(code: string): void;
  /** Drop the socket at once. */
  protected abstract destroySocket(): void;
  /** Push out frames held for a batch now (before a close frame leaves; Link.flush). */
  flush(): void {}
  /** The link has ended: let go of what the subclass holds for it. */
  protected ended(): void {}

  /** True from the moment the link starts to end: nothing more is written or delivered. */
  protected get closing(): boolean {
    return this.#closing;
  }

  /** Queue one frame for the remote (nothing once the link is ending). */
  send(frame: Uint8Array): void {
    if (this.#closing) return;
    this.write(frame);
    this.live.sent();
  }

  /** Close the link: what is written goes first, then the socket ends with `code`. */
  close(code: string, reason: string): void {
    if (this.#closing) return;
    this.flush(); // the session's close frame is among them
    this.#stop();
    this.endSocket(code);
    this.#finish({ code, reason, byRemote: false });
  }

  /** Start delivering to `handler`: frames held until now first, then the end if it came. */
  attach(handler: LinkHandler): void {
    this.#handler = handler;
    const early = this.#early.splice(0);
    // Frames that arrived before attach go out on a microtask, never inside attach.
    queueMicrotask(() => {
      for (const frame of early) if (!this.#info) handler.frame(frame);
      if (this.#info) handler.closed(this.#info);
    });
  }

  /** One frame from the remote, to the handler (held until attach). */
  protected deliver(frame: Uint8Array): void {
    if (this.#handler && this.#early.length === 0) this.#handler.frame(frame);
    else this.#early.push(frame);
  }

  /**
   * This end refuses what the remote sent (a frame too large, a text message): a `close` frame
   * tells the remote why, and the session ends at both ends, since a resume would only resend
   * the same frame (spec/errors.md §5).
   */
  protected refuse(code: string, reason: string): void {
    if (this.#closing) return;
    this.write(closeFrame(code, reason));
    this.flush();
    this.#stop();
    this.endSocket(code);
    this.#finish({ code, reason, byRemote: true, final: true });
  }

  /** The transport ended the link (remote close, error, a dead path); `final`: no resume. */
  protected broken(code: string, reason: string, final = false): void {
    if (this.#closing) return;
    this.#stop();
    this.destroySocket();
    this.#finish(final ? { code, reason, byRemote: true, final } : { code, reason, byRemote: true });
  }

  #stop(): void {
    this.#closing = true;
    this.live.stop();
  }

  #finish(info: LinkClosedInfo): void {
    if (this.#info) return;
    this.#info = info;
    this.ended();
    this.#resolveDone(info);
    // Before attach, `attach` reports it; after, on a microtask so no handler re-enters.
    const handler = this.#handler;
    if (handler) queueMicrotask(() => handler.closed(info));
  }
}
