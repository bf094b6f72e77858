/**
 * A Link over one WebSocket (spec/transports.md §1.1): the frames sent in one tick go out in one
 * binary message (a batch, or the frame alone); a text message closes the link with E_CBOR. Heartbeats are WebSocket pings (the
 * remote's library answers with pongs); any message, ping or pong counts as life.
 */
import { type Runtime, systemRuntime } from "@capbus/core";
import {
  LinkBase,
  type LivenessOptions,
  type PreAuthTicket,
  splitWsMessage,
  TransportErrorCode,
  WS_BATCH_MARK,
  WsBatcher,
} from "@capbus/transport";
import { DEFAULT_MAX_FRAME_BYTES } from "@capbus/wire";
import type { RawData, WebSocket } from "ws";

/** Options of a link over a WebSocket: frame size limit, liveness, timers. */
export interface WsLinkOptions extends LivenessOptions {
  /**
   * Longest frame accepted; longer closes with E_TOO_LARGE. Applied as ws `maxPayload` when the
   * socket is created (`listenWs`, `openWs`). @default 16 MiB
   */
  maxFrameBytes?: number;
  /** Timers for heartbeats. @default systemRuntime */
  runtime?: Runtime;
  /**
   * The listener's pre-authentication limits for this connection (`listenWs` sets it); released
   * once the remote has introduced itself (spec/transports.md §3.5). @default none (dialled links)
   */
  preAuth?: PreAuthTicket;
}

/** WebSocket close code carrying a capbus code as its reason (the private range 4000-4999). */
const CAPBUS_CLOSE = 4000;
/** RFC 6455: message too big. */
const TOO_BIG = 1009;
/** The subprotocol a capbus WebSocket speaks (spec/transports.md §1.1). */
export const WS_SUBPROTOCOL = "capbus.v2";

export class WsLink extends LinkBase {
  readonly #ws: WebSocket;
  readonly #batch: WsBatcher;
  readonly #maxFrameBytes: number;
  /** Until the remote has introduced itself: the listener's limits for this connection. */
  #preAuth: PreAuthTicket | undefined;

  constructor(ws: WebSocket, options: WsLinkOptions = {}) {
    super(options.runtime ?? systemRuntime, options);
    this.#ws = ws;
    ws.binaryType = "nodebuffer";
    this.#preAuth = options.preAuth;
    this.#preAuth?.bind((code, reason) => this.close(code, reason));
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    // Flushed after the promise callbacks of this turn too (setImmediate), so an answer and the
    // application's next send (e.g. an accept and the next request) share one message.
    this.#batch = new WsBatcher(
      (message) => {
        if (!this.closing) this.#ws.send(message, { binary: true });
      },
      (flush) => setImmediate(flush),
    );
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on("ping", () => this.live.received());
    ws.on("pong", () => this.live.received());
    ws.on("error", (error: Error & { code?: string }) =>
      error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
        ? this.broken(TransportErrorCode.E_TOO_LARGE, error.message, true)
        : this.broken(TransportErrorCode.E_LINK_BROKEN, error.message),
    );
    ws.on("close", (code: number, reason: Buffer) => {
      const text = reason.toString();
      if (code === CAPBUS_CLOSE && /^[A-Z][A-Z0-9_]{0,63}$/.test(text))
        return this.broken(text, "closed by the remote");
      // 1009: the remote's WebSocket library refused a message of ours as too big, a close.
      if (code === TOO_BIG) return this.broken(TransportErrorCode.E_TOO_LARGE, `closed (${code})`, true);
      this.broken(TransportErrorCode.E_LINK_BROKEN, `closed (${code})`);
    });
  }

  /** Bytes queued in the WebSocket and not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  /** This link reads batch messages (spec/transports.md §1.1); its hello says so. */
  readonly batchMessages = true;

  /** The hellos are in: batch the frames of a tick only if the remote reads batch messages too. */
  negotiated(terms: { readonly batchMessages: boolean }): void {
    this.#batch.batching = terms.batchMessages;
  }

  /** The remote has introduced itself (called by the handshake): the listener's limits are lifted. */
  introduced(): void {
    this.#preAuth?.release();
    this.#preAuth = undefined;
  }

  protected heartbeat(): void {
    this.#ws.ping();
  }

  protected write(frame: Uint8Array): void {
    this.#batch.push(frame);
  }

  override flush(): void {
    this.#batch.flush();
  }

  protected endSocket(code: string): void {
    this.#ws.close(CAPBUS_CLOSE, code);
  }

  protected destroySocket(): void {
    this.#ws.terminate();
  }

  protected override ended(): void {
    this.#preAuth?.closedEarly();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    this.live.received();
    if (!isBinary) return this.refuse(TransportErrorCode.E_CBOR, "a text message");
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const message = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    // One frame, the common message: delivered without splitWsMessage's result object and list.
    if (message[0] !== WS_BATCH_MARK && message.byteLength <= this.#maxFrameBytes)
      return this.deliver(message);
    const split = splitWsMessage(message, this.#maxFrameBytes);
    if (!split.ok) return this.refuse(split.code, split.reason);
    for (const frame of split.frames) {
      if (this.closing) return;
      this.deliver(frame);
    }
  }
}
