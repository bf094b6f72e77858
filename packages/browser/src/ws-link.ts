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
import { type Runtime, systemRuntime } from "@capbus/core";
import {
  LinkBase,
  type LivenessOptions,
  splitWsMessage,
  TransportErrorCode,
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
/** The subprotocol a capbus WebSocket speaks (spec/transports.md §1.1). */
const SUBPROTOCOL = "capbus.v2";

export class BrowserWsLink extends LinkBase {
  readonly #ws: WebSocket;
  readonly #maxFrameBytes: number;
  readonly #batch: WsBatcher;

  /** `ws` should be open (see `openBrowserWs`); frames sent before it opens are an error. */
  constructor(ws: WebSocket, options: BrowserWsLinkOptions = {}) {
    // No heartbeat a page could send is a frame the remote accepts (and pings are not for pages).
    super(options.runtime ?? systemRuntime, { heartbeatMs: 0, deadAfterMs: 0, ...options });
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#batch = new WsBatcher((message) => {
      if (!this.closing) this.#ws.send(message);
    });
    ws.addEventListener("message", (event) => this.#onMessage(event.data));
    ws.addEventListener("error", () => this.broken(TransportErrorCode.E_LINK_BROKEN, "WebSocket error"));
    ws.addEventListener("close", (event) => {
      if (event.code === CAPBUS_CLOSE && CODE.test(event.reason))
        return this.broken(event.reason, "closed by the remote");
      // 1009: the remote refused a message of ours as too big, a close (spec/errors.md §5).
      if (event.code === TOO_BIG) return this.broken(TransportErrorCode.E_TOO_LARGE, "closed (1009)", true);
      this.broken(TransportErrorCode.E_LINK_BROKEN, `closed (${event.code})`);
    });
  }

  /** Bytes queued in the WebSocket and not yet handed to the network. */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  protected heartbeat(): void {}

  protected write(frame: Uint8Array): void {
    this.#batch.push(frame);
  }

  /** This link reads batch messages (spec/transports.md §1.1); its hello says so. */
  readonly batchMessages = true;

  /** The hellos are in: batch the frames of a tick only if the remote reads batch messages too. */
  negotiated(terms: { readonly batchMessages: boolean }): void {
    this.#batch.batching = terms.batchMessages;
  }

  override flush(): void {
    this.#batch.flush();
  }

  protected endSocket(code: string): void {
    this.#closeSocket(code);
  }

  protected destroySocket(): void {
    this.#closeSocket("E_LINK_BROKEN");
  }

  #onMessage(data: unknown): void {
    if (this.closing) return;
    this.live.received();
    if (!(data instanceof ArrayBuffer)) return this.refuse(TransportErrorCode.E_CBOR, "a text message");
    const split = splitWsMessage(new Uint8Array(data), this.#maxFrameBytes);
    if (!split.ok) return this.refuse(split.code, split.reason);
    for (const frame of split.frames) {
      if (this.closing) return;
      this.deliver(frame);
    }
  }

  #closeSocket(code: string): void {
    try {
      this.#ws.close(CAPBUS_CLOSE, CODE.test(code) ? code : "E_PROTOCOL");
    } catch {
      // Already closing or closed.
    }
  }
}

/** Open one WebSocket to `url` (`ws://` or `wss://`) and wrap it as a link once it is open. */
export function openBrowserWs(url: string, options: BrowserWsLinkOptions = {}): Promise<BrowserWsLink> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, SUBPROTOCOL);
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
