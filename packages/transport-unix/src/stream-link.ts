/**
 * A Link over a stream socket (Unix domain or TCP; spec/transports.md §1.2): each frame is
 * preceded by its length as a 4-byte big-endian integer; length 0 is a heartbeat. Frames written
 * in one tick go out in one corked write.
 */
import type { Socket } from "node:net";
import { PRE_AUTH_FRAME_BYTES, type Runtime, systemRuntime } from "@capbus/core";
import {
  closeFrame,
  LinkBase,
  type LivenessOptions,
  type PreAuthTicket,
  TransportErrorCode,
} from "@capbus/transport";
import { DEFAULT_MAX_FRAME_BYTES } from "@capbus/wire";

/** Options of a link over a stream socket: frame size limit, liveness, timers. */
export interface StreamLinkOptions extends LivenessOptions {
  /** Longest frame accepted; a longer announced length closes the link with E_TOO_LARGE. @default 16 MiB */
  maxFrameBytes?: number;
  /** Timers for heartbeats and for ending a half-closed socket. @default systemRuntime */
  runtime?: Runtime;
  /** How long `close` waits for the remote to end before dropping the socket. @default 2000 */
  lingerMs?: number;
  /**
   * The listener's pre-authentication limits for this connection (`listenUnix` sets it): until
   * the remote has introduced itself, a length above PRE_AUTH_FRAME_BYTES closes the link with
   * E_TOO_LARGE at the length prefix (spec/transports.md §3.5). @default none (dialled links)
   */
  preAuth?: PreAuthTicket;
}

const HEARTBEAT = new Uint8Array(4);

/** Corked bytes that are written at once rather than at the end of the tick (spec/transports.md §1.2). */
export const EAGER_WRITE_BYTES = 16 * 1024;

export class StreamLink extends LinkBase {
  readonly #socket: Socket;
  readonly #max: number;
  readonly #runtime: Runtime;
  readonly #lingerMs: number;
  /** Until the remote has introduced itself: the listener's limits for this connection. */
  #preAuth: PreAuthTicket | undefined;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Length of the frame being read, or -1 while reading a header. */
  #need = -1;
  #corked = false;
  /** Bytes written since the socket was corked. */
  #corkedBytes = 0;

  constructor(socket: Socket, options: StreamLinkOptions = {}) {
    const runtime = options.runtime ?? systemRuntime;
    super(runtime, options);
    this.#socket = socket;
    this.#max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#runtime = runtime;
    this.#lingerMs = options.lingerMs ?? 2000;
    this.#preAuth = options.preAuth;
    // Refused before its introduction: the remote reads why (a close frame), then the link ends.
    this.#preAuth?.bind((code, reason) => {
      this.send(closeFrame(code, reason));
      this.close(code, reason);
    });
    socket.setNoDelay?.(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.broken(TransportErrorCode.E_LINK_BROKEN, error.message));
    socket.on("close", () => this.broken(TransportErrorCode.E_LINK_BROKEN, "the connection closed"));
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  /** The remote has introduced itself (called by the handshake): frames of any size from now on. */
  introduced(): void {
    this.#preAuth?.release();
    this.#preAuth = undefined;
  }

  protected heartbeat(): void {
    this.#write(HEARTBEAT);
  }

  protected write(frame: Uint8Array): void {
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(frame.byteLength, 0);
    this.#write(header);
    this.#write(frame);
  }

  /** Half-close, and drop the socket if the remote has not ended within the linger time. */
  protected endSocket(): void {
    this.#socket.end();
    const cancel = this.#runtime.setTimer(this.#lingerMs, () => this.#socket.destroy());
    this.#socket.once("close", cancel);
  }

  protected destroySocket(): void {
    this.#socket.destroy();
  }

  protected override ended(): void {
    this.#chunks = [];
    this.#preAuth?.closedEarly();
  }

  #write(bytes: Uint8Array): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => this.#uncork());
    }
    this.#socket.write(bytes);
    this.#corkedBytes += bytes.byteLength;
    this.live.sent();
    // A sender whose loop runs on promise callbacks (an await per few sends) may not end its tick
    // for a whole window of sends: what is held goes once it fills a write, so the remote starts
    // on it meanwhile rather than idling until the burst ends.
    if (this.#corkedBytes >= EAGER_WRITE_BYTES) this.#uncork();
  }

  /** What is corked goes now (Link.flush), not at the tick's end. */
  override flush(): void {
    this.#uncork();
  }

  #uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#corkedBytes = 0;
    this.#socket.uncork();
  }

  #onData(chunk: Buffer): void {
    if (this.closing) return;
    this.live.received();
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return;
        const length = this.#take(4).readUInt32BE(0);
        // A stranger's frame is refused at its length, before a byte of it is buffered.
        const max = this.#preAuth ? Math.min(this.#max, PRE_AUTH_FRAME_BYTES) : this.#max;
        if (length > max) {
          const reason = `a frame of ${length} bytes announced`;
          // A stranger is dropped at once (spec/transports.md §3.5); a session's remote is told.
          if (this.#preAuth) return this.broken(TransportErrorCode.E_TOO_LARGE, reason);
          return this.refuse(TransportErrorCode.E_TOO_LARGE, reason);
        }
        if (length === 0) continue; // heartbeat
        this.#need = length;
      }
      if (this.#buffered < this.#need) return;
      const frame = this.#take(this.#need);
      this.#need = -1;
      this.deliver(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      if (this.closing) return;
    }
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    this.#buffered -= n;
    if (first.byteLength > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.byteLength === n) return this.#chunks.shift()!;
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.byteLength, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
