/**
 * Raw client connections for the socket fuzz: a WebSocket or a Unix stream socket with no capbus
 * peer behind it, writing whatever the test says and recording what comes back, until the far
 * end closes. Loopback only.
 */
import { createConnection, type Socket } from "node:net";
import { splitWsMessage } from "@capbus/transport";
import { WebSocket } from "ws";

export interface RawEnd {
  /** Binary frames received (length prefixes removed on streams). */
  readonly frames: Uint8Array[];
  /** WebSocket close code and reason; undefined on streams. */
  readonly wsCode?: number;
  readonly wsReason?: string;
  /** A socket error seen (e.g. a reset), if any. */
  readonly error?: string;
  /** True if this end gave up waiting and destroyed the connection. */
  readonly timedOut: boolean;
}

export interface RawConn {
  /** One frame: a binary message, or a length-prefixed frame. */
  frame(bytes: Uint8Array): void;
  /** Bytes as they are: a text message (ws), or unframed bytes (stream). */
  raw(data: Uint8Array | string): void;
  /** Resolves when the far end has closed, or after `ms` (then the connection is destroyed). */
  ended(ms: number): Promise<RawEnd>;
}

export function rawWs(url: string): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    const frames: Uint8Array[] = [];
    let error: string | undefined;
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.once("close", (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.on("message", (data, isBinary) => {
      // A message may be a batch of frames (spec/transports.md §1.1).
      if (!isBinary) return;
      const split = splitWsMessage(new Uint8Array(data as Buffer), Number.MAX_SAFE_INTEGER);
      if (split.ok) frames.push(...split.frames);
    });
    ws.on("error", (e) => {
      error = e.message;
    });
    ws.once("open", () =>
      resolve({
        frame: (bytes) => ws.send(bytes, { binary: true }),
        raw: (data) => ws.send(data, { binary: typeof data !== "string" }),
        async ended(ms) {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<undefined>((done) => {
            timer = setTimeout(() => done(undefined), ms);
          });
          const result = await Promise.race([closed, timeout]);
          clearTimeout(timer);
          if (result === undefined) {
            ws.terminate();
            await closed;
            return { frames, timedOut: true, ...(error === undefined ? {} : { error }) };
          }
          return {
            frames,
            wsCode: result.code,
            wsReason: result.reason,
            timedOut: false,
            ...(error === undefined ? {} : { error }),
          };
        },
      }),
    );
    ws.once("error", reject);
  });
}

export function rawUnix(path: string): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection({ path });
    const frames: Uint8Array[] = [];
    let buffered = Buffer.alloc(0);
    let error: string | undefined;
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const n = buffered.readUInt32BE(0);
        if (buffered.length < 4 + n) break;
        if (n > 0) frames.push(new Uint8Array(buffered.subarray(4, 4 + n)));
        buffered = buffered.subarray(4 + n);
      }
    });
    socket.on("error", (e) => {
      error = e.message;
    });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve({
        frame(bytes) {
          const header = Buffer.alloc(4);
          header.writeUInt32BE(bytes.length, 0);
          socket.write(Buffer.concat([header, bytes]));
        },
        raw: (data) => void socket.write(data),
        async ended(ms) {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<"timeout">((done) => {
            timer = setTimeout(() => done("timeout"), ms);
          });
          const result = await Promise.race([closed, timeout]);
          clearTimeout(timer);
          if (result === "timeout") {
            socket.destroy();
            await closed;
          }
          return { frames, timedOut: result === "timeout", ...(error === undefined ? {} : { error }) };
        },
      });
    });
    socket.once("error", reject);
  });
}
