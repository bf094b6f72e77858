/**
 * One raw connection to the peer under test, over WebSocket or a stream socket (spec/transports.md
 * spec/transports.md §1). The kit writes exactly the bytes it is told to (a frame per message or per length prefix,
 * or raw bytes), and reads the peer's frames one at a time, so it can say what a peer sent, in
 * what order, and whether it closed.
 */
import { createConnection, type Socket } from "node:net";
import { splitWsMessage } from "@capbus/transport";
import { DEFAULT_MAX_FRAME_BYTES, type Frame, FrameCodec } from "@capbus/wire";
import WebSocket from "ws";

/** The subprotocol a capbus WebSocket speaks (spec/transports.md §1.1). */
export const WS_SUBPROTOCOL = "capbus.v2";

/** What reading the next item of a connection gives. */
export type Received =
  | { readonly kind: "frame"; readonly frame: Frame; readonly bytes: Uint8Array }
  /** Bytes the kit's decoder refuses: the peer under test sent a malformed frame. */
  | { readonly kind: "garbage"; readonly bytes: Uint8Array; readonly code: string }
  /** The connection ended; `code` is the ws close reason when it carried a capbus code. */
  | { readonly kind: "end"; readonly code: string | undefined }
  | { readonly kind: "timeout" };

const codec = new FrameCodec();

/** A connection to the peer under test. */
export class Conn {
  readonly #queue: Received[] = [];
  #waiter: (() => void) | undefined;
  #ended = false;
  readonly #write: (bytes: Uint8Array) => void;
  readonly #rawWrite: (bytes: Uint8Array) => void;
  readonly #destroy: () => void;

  private constructor(
    write: (bytes: Uint8Array) => void,
    rawWrite: (bytes: Uint8Array) => void,
    destroy: () => void,
  ) {
    this.#write = write;
    this.#rawWrite = rawWrite;
    this.#destroy = destroy;
  }

  /** Open a connection to `endpoint`: `ws://host:port[/path]` or `unix:/path`. */
  static open(endpoint: string, timeoutMs = 5000): Promise<Conn> {
    return endpoint.startsWith("unix:")
      ? Conn.#unix(endpoint.slice(5), timeoutMs)
      : Conn.#ws(endpoint, timeoutMs);
  }

  static #ws(url: string, timeoutMs: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      // A dialler offers capbus.v2 and the listener must choose it, or the socket fails to open.
      const ws = new WebSocket(url, WS_SUBPROTOCOL, {
        maxPayload: DEFAULT_MAX_FRAME_BYTES + 5,
        handshakeTimeout: timeoutMs,
      });
      ws.binaryType = "nodebuffer";
      const conn = new Conn(
        (bytes) => ws.readyState === WebSocket.OPEN && ws.send(bytes, { binary: true }),
        (bytes) => ws.readyState === WebSocket.OPEN && ws.send(bytes, { binary: true }),
        () => ws.terminate(),
      );
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return conn.#push({ kind: "garbage", bytes: new Uint8Array(0), code: "E_CBOR" });
        const split = splitWsMessage(new Uint8Array(data), DEFAULT_MAX_FRAME_BYTES);
        if (!split.ok) return conn.#push({ kind: "garbage", bytes: new Uint8Array(data), code: split.code });
        for (const frame of split.frames) conn.#frame(frame);
      });
      ws.on("close", (code: number, reason: Buffer) =>
        conn.#end(code === 4000 ? reason.toString() : undefined),
      );
      ws.on("error", (error) => {
        if (ws.readyState === WebSocket.CONNECTING) reject(error);
        conn.#end(undefined);
      });
      ws.once("open", () => resolve(conn));
    });
  }

  static #unix(path: string, timeoutMs: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket: Socket = createConnection({ path });
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)));
      const prefixed = (bytes: Uint8Array) => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(bytes.byteLength);
        return Buffer.concat([head, bytes]);
      };
      const conn = new Conn(
        (bytes) => !socket.destroyed && socket.write(prefixed(bytes)),
        (bytes) => !socket.destroyed && socket.write(bytes),
        () => socket.destroy(),
      );
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4) {
          const length = buffered.readUInt32BE(0);
          if (buffered.length < 4 + length) break;
          const frame = new Uint8Array(buffered.subarray(4, 4 + length));
          buffered = buffered.subarray(4 + length);
          if (length > 0) conn.#frame(frame); // a zero length is a heartbeat
        }
      });
      socket.on("close", () => conn.#end(undefined));
      socket.on("error", (error) => {
        if (socket.connecting) reject(error);
      });
      socket.once("connect", () => {
        socket.setTimeout(0);
        resolve(conn);
      });
    });
  }

  /** Send one encoded frame (or any bytes as one frame: one ws message, one length prefix). */
  send(bytes: Uint8Array): void {
    this.#write(bytes);
  }

  /** Send a frame object, encoded with the reference codec. */
  sendFrame(frame: Frame): void {
    this.#write(codec.encode(frame));
  }

  /** Send bytes as they are: one ws message, or raw bytes on a stream (no length prefix added). */
  sendRaw(bytes: Uint8Array): void {
    this.#rawWrite(bytes);
  }

  /** End the connection without a close frame: a break, as a pulled cable. */
  destroy(): void {
    this.#destroy();
  }

  /** Close with a `close` frame, then end the connection. */
  close(code = "OK", reason = "conformance kit done"): void {
    this.sendFrame({ type: "close", seq: 0, ack: 0, code, reason });
    setTimeout(() => this.#destroy(), 20).unref();
  }

  get ended(): boolean {
    return this.#ended && this.#queue.length === 0;
  }

  /**
   * The next thing the peer sent, or `timeout`. Pure `ack` frames and `endpoints` advertisements
   * (spec/bootstrap.md §1: a peer may send them whenever it likes) are skipped unless `all`.
   */
  async next(timeoutMs: number, all = false): Promise<Received> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const item = this.#queue.shift();
      if (item !== undefined) {
        if (!all && item.kind === "frame" && (item.frame.type === "ack" || item.frame.type === "endpoints"))
          continue;
        return item;
      }
      if (this.#ended) return { kind: "end", code: undefined };
      const left = end - Date.now();
      if (left <= 0) return { kind: "timeout" };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Read `item` again first (a step that expected something else leaves it for the next). */
  putBack(item: Received): void {
    if (item.kind !== "timeout") this.#queue.unshift(item);
  }

  /** Everything received so far (acks included), without waiting. */
  drain(): Received[] {
    return this.#queue.splice(0);
  }

  #frame(bytes: Uint8Array): void {
    const decoded = codec.decodeFrame(bytes);
    this.#push(
      decoded.ok
        ? { kind: "frame", frame: decoded.frame, bytes }
        : { kind: "garbage", bytes, code: decoded.error.code },
    );
  }

  #push(item: Received): void {
    this.#queue.push(item);
    this.#wake();
  }

  #end(code: string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue.push({ kind: "end", code });
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
