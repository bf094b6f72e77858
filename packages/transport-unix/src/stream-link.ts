/**
 * A Link over a stream socket (Unix domain or TCP; spec/transports.md §1.2): each frame is
 * preceded by its length as a 4-byte big-endian integer; length 0 is a heartbeat. Frames written
 * in one tick go out in one corked write.
 */
import type { Socket } from "node:net";
import {
  type LinkClosedInfo,
  type LinkHandler,
  PRE_AUTH_FRAME_BYTES,
  type Runtime,
  systemRuntime,
} from "@capbus/core";
import {
  Liveness,
  type LivenessOptions,
  type PreAuthTicket,
  TransportErrorCode,
  type TransportLink,
} from "@capbus/transport";
import { DEFAULT_MAX_FRAME_BYTES, FrameCodec } from "@capbus/wire";

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

const closeCodec = new FrameCodec();

const HEARTBEAT = new Uint8Array(4);

export class StreamLink implements TransportLink {
  readonly done: Promise<LinkClosedInfo>;
  readonly #socket: Socket;
  readonly #max: number;
  readonly #live: Liveness;
  readonly #runtime: Runtime;
  readonly #lingerMs: number;
  #handler: LinkHandler | undefined;
  /** Until the remote has introduced itself: the listener's limits for this connection. */
  #preAuth: PreAuthTicket | undefined;
  #early: Uint8Array[] = [];
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Length of the frame being read, or -1 while reading a header. */
  #need = -1;
  #corked = false;
  #closing = false;
  #info: LinkClosedInfo | undefined;
  #resolveDone!: (info: LinkClosedInfo) => void;

  constructor(socket: Socket, options: StreamLinkOptions = {}) {
    this.#socket = socket;
    this.#max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#runtime = options.runtime ?? systemRuntime;
    this.#lingerMs = options.lingerMs ?? 2000;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#preAuth = options.preAuth;
    // Refused before its introduction: the remote reads why (a close frame), then the link ends.
    this.#preAuth?.bind((code, reason) => {
      this.send(closeCodec.encode({ type: "close", seq: 0, ack: 0, code, reason }));
      this.close(code, reason);
    });
    socket.setNoDelay?.(true);
    this.#live = new Liveness(
      this.#runtime,
      options,
      () => this.#write(HEARTBEAT),
      () => this.#broken(TransportErrorCode.E_LINK_DEAD, "nothing received within the dead-link timeout"),
    );
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.#broken(TransportErrorCode.E_LINK_BROKEN, error.message));
    socket.on("close", () => this.#broken(TransportErrorCode.E_LINK_BROKEN, "the connection closed"));
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  send(frame: Uint8Array): void {
    if (this.#closing) return;
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(frame.byteLength, 0);
    this.#write(header);
    this.#write(frame);
  }

  close(code: string, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#live.stop();
    this.#socket.end();
    const cancel = this.#runtime.setTimer(this.#lingerMs, () => this.#socket.destroy());
    this.#socket.once("close", cancel);
    this.#finish({ code, reason, byRemote: false });
  }

  /** The remote has introduced itself (called by the handshake): frames of any size from now on. */
  introduced(): void {
    this.#preAuth?.release();
    this.#preAuth = undefined;
  }

  attach(handler: LinkHandler): void {
    this.#handler = handler;
    const early = this.#early.splice(0);
    // Frames that arrived before attach go out on a microtask, never inside attach.
    queueMicrotask(() => {
      for (const frame of early) if (!this.#info) handler.frame(frame);
      if (this.#info) handler.closed(this.#info);
    });
  }

  #write(bytes: Uint8Array): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(bytes);
    this.#live.sent();
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#live.received();
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return;
        const length = this.#take(4).readUInt32BE(0);
        // A stranger's frame is refused at its length, before a byte of it is buffered.
        const max = this.#preAuth ? Math.min(this.#max, PRE_AUTH_FRAME_BYTES) : this.#max;
        if (length > max) {
          return this.#broken(TransportErrorCode.E_TOO_LARGE, `a frame of ${length} bytes announced`);
        }
        if (length === 0) continue; // heartbeat
        this.#need = length;
      }
      if (this.#buffered < this.#need) return;
      const frame = this.#take(this.#need);
      this.#need = -1;
      this.#deliver(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      if (this.#closing) return;
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

  #deliver(frame: Uint8Array): void {
    if (this.#handler && this.#early.length === 0) this.#handler.frame(frame);
    else this.#early.push(frame);
  }

  /** The transport ended the link (remote close, error, a dead path or an oversize frame). */
  #broken(code: string, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#live.stop();
    this.#socket.destroy();
    this.#finish({ code, reason, byRemote: true });
  }

  #finish(info: LinkClosedInfo): void {
    if (this.#info) return;
    this.#info = info;
    this.#chunks = [];
    this.#preAuth?.closedEarly();
    this.#resolveDone(info);
    // Before attach, `attach` reports it; after, on a microtask so no handler re-enters.
    const handler = this.#handler;
    if (handler) queueMicrotask(() => handler.closed(info));
  }
}
