/**
 * The raw stream-socket baseline over a Unix socket (node:net, no capbus): each payload behind a
 * 4-byte big-endian length, the framing capbus's StreamLink uses. Unbatched: one write per
 * payload. Batched: writes of one tick corked into one, exactly as StreamLink does.
 */
import { createConnection, createServer, type Socket } from "node:net";
import type { Counter } from "./sink.js";

/** Child: listens on `path`, counts length-prefixed payloads. */
export async function rawNetReceiver(counter: Counter, path: string): Promise<string> {
  const server = createServer((socket) => {
    let chunks: Buffer[] = [];
    let buffered = 0;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.byteLength;
      if (buffered < 4) return;
      let data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let at = 0;
      while (data.byteLength - at >= 4) {
        const length = data.readUInt32BE(at);
        if (data.byteLength - at - 4 < length) break;
        counter.hit(data.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      data = data.subarray(at);
      chunks = data.byteLength > 0 ? [data] : [];
      buffered = data.byteLength;
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

export function openRawNet(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once("error", reject);
    socket.once("connect", () => resolve(socket));
  });
}

export function rawNetStream(
  socket: Socket,
  bytes: Uint8Array,
  options: { batched?: boolean; window?: number } = {},
): (n: number) => Promise<void> {
  const frame = Buffer.allocUnsafe(4 + bytes.byteLength);
  frame.writeUInt32BE(bytes.byteLength, 0);
  frame.set(bytes, 4);
  const keep = Math.max(1, Math.floor((options.window ?? 1024) / 64));
  let corked = false;
  return async (n) => {
    const marks: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      if (options.batched && !corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      if ((i & 63) === 63) {
        marks.push(new Promise((resolve, reject) => socket.write(frame, (e) => (e ? reject(e) : resolve()))));
        if (marks.length > keep) await marks.shift();
      } else socket.write(frame);
    }
    await Promise.all(marks);
  };
}
