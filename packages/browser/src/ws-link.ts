/**
 * A Link over the browser's native WebSocket (spec/transports.md §1.1, spec/browser.md): the frames
 * of one tick go out in one binary message (a batch, or the frame alone); a text message closes the link with E_CBOR, a message
 * longer than `maxFrameBytes` with E_TOO_LARGE; `close(code)` sends WebSocket close 4000 with the
 * capbus code as its reason, like the Node link.
 *
 * A page cannot send or see WebSocket pings: the browser answers the Node end's pings with pongs
 * by itself (so the Node end's dead-link detection works), but the page hears only messages. Its
 * own heartbeat and dead-link timers are therefore off by default; a dead path is noticed here
 * when the browser closes the socket, and at the Node end by its missing pongs.
 */
import { type LinkClosedInfo, type LinkHandler, type Runtime, systemRuntime } from "@capbus/core";
import {
  Liveness,
  type LivenessOptions,
  splitWsMessage,
  TransportErrorCode,
  type TransportLink,
  WsBatcher,
} from "@capbus/transport";

/** Options of a link over the browser's WebSocket: frame size limit, liveness timers. */
export interface BrowserWsLinkOptions extends LivenessOptions {
  /** Longest frame accepted; a longer message closes the link with E_TOO_LARGE. @default 16 MiB */
  maxFrameBytes?: number;
  /** Timers for the dead-link check. @default systemRuntime */
  runtime?: Runtime;
}

/** WebSocket close code carrying a capbus code as its reason (the private range 4000-4999). */
const CAPBUS_CLOSE = 4000;
/** RFC 6455: message too big. */
const TOO_BIG = 1009;
const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export class BrowserWsLink implements TransportLink {
  readonly done: Promise<LinkClosedInfo>;
  readonly #ws: WebSocket;
  readonly #live: Liveness;
  readonly #maxFrameBytes: number;
  readonly #batch: WsBatcher;
  #handler: LinkHandler | undefined;
  #early: Uint8Array[] = [];
  #closing = false;
  #info: LinkClosedInfo | undefined;
  #resolveDone!: (info: LinkClosedInfo) => void;

  /** `ws` should be open (see `openBrowserWs`); frames sent before it opens are an error. */
  constructor(ws: WebSocket, options: BrowserWsLinkOptions = {}) {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#batch = new WsBatcher((message) => {
      if (!this.#closing) this.#ws.send(message);
    });
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    // No heartbeat a page could send is a frame the remote accepts (and pings are not for pages).
    this.#live = new Liveness(
      options.runtime ?? systemRuntime,
      { heartbeatMs: 0, deadAfterMs: 0, ...options },
      () => undefined,
      () => this.#broken(TransportErrorCode.E_LINK_DEAD, "nothing received within the dead-link timeout"),
    );
    ws.addEventListener("message", (event) => this.#onMessage(event.data));
    ws.addEventListener("error", () => this.#broken(TransportErrorCode.E_LINK_BROKEN, "WebSocket error"));
    ws.addEventListener("close", (event) => {
      if (event.code === CAPBUS_CLOSE && CODE.test(event.reason))
        return this.#broken(event.reason, "closed by the remote");
      this.#broken(
        event.code === TOO_BIG ? TransportErrorCode.E_TOO_LARGE : TransportErrorCode.E_LINK_BROKEN,
        `closed (${event.code})`,
      );
    });
  }

  /** Bytes queued in the WebSocket and not yet handed to the network. */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  send(frame: Uint8Array): void {
    if (this.#closing) return;
    this.#batch.push(frame);
    this.#live.sent();
  }

  /** This link reads batch messages (spec/transports.md §1.1); its hello says so. */
  readonly batchMessages = true;

  /** The hellos are in: batch the frames of a tick only if the remote reads batch messages too. */
  negotiated(terms: { readonly batchMessages: boolean }): void {
    this.#batch.batching = terms.batchMessages;
  }

  close(code: string, reason: string): void {
    if (this.#closing) return;
    this.#batch.flush(); // the session's close frame is in it
    this.#closing = true;
    this.#live.stop();
    this.#closeSocket(code);
    this.#finish({ code, reason, byRemote: false });
  }

  attach(handler: LinkHandler): void {
    this.#handler = handler;
    const early = this.#early.splice(0);
    queueMicrotask(() => {
      for (const frame of early) if (!this.#info) handler.frame(frame);
      if (this.#info) handler.closed(this.#info);
    });
  }

  #onMessage(data: unknown): void {
    if (this.#closing) return;
    this.#live.received();
    if (!(data instanceof ArrayBuffer)) return this.#fail(TransportErrorCode.E_CBOR, "a text message");
    const split = splitWsMessage(new Uint8Array(data), this.#maxFrameBytes);
    if (!split.ok) return this.#fail(split.code, split.reason);
    for (const frame of split.frames) {
      if (this.#closing) return;
      if (this.#handler && this.#early.length === 0) this.#handler.frame(frame);
      else this.#early.push(frame);
    }
  }

  /** This end refuses what the remote sent: close the WebSocket with the code. */
  #fail(code: string, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#live.stop();
    this.#closeSocket(code);
    this.#finish({ code, reason, byRemote: true });
  }

  #broken(code: string, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#live.stop();
    this.#closeSocket("E_LINK_BROKEN");
    this.#finish({ code, reason, byRemote: true });
  }

  #closeSocket(code: string): void {
    try {
      this.#ws.close(CAPBUS_CLOSE, CODE.test(code) ? code : "E_PROTOCOL");
    } catch {
      // Already closing or closed.
    }
  }

  #finish(info: LinkClosedInfo): void {
    if (this.#info) return;
    this.#info = info;
    this.#resolveDone(info);
    const handler = this.#handler;
    if (handler) queueMicrotask(() => handler.closed(info));
  }
}

/** Open one WebSocket to `url` (`ws://` or `wss://`) and wrap it as a link once it is open. */
export function openBrowserWs(url: string, options: BrowserWsLinkOptions = {}): Promise<BrowserWsLink> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (error) {
      return reject(error);
    }
    ws.binaryType = "arraybuffer";
    const failed = () => {
      ws.removeEventListener("open", opened);
      reject(new Error(`WebSocket to ${url} did not open`));
    };
    const opened = () => {
      ws.removeEventListener("error", failed);
      ws.removeEventListener("close", failed);
      resolve(new BrowserWsLink(ws, options));
    };
    ws.addEventListener("open", opened, { once: true });
    ws.addEventListener("error", failed, { once: true });
    ws.addEventListener("close", failed, { once: true });
  });
}
