/**
 * The raw WebSocket baseline (the same `ws` library capbus uses, no capbus): receivers in child
 * processes, senders in the parent. Unbatched: one ws message per payload. Batched: payloads
 * sent in one burst packed into one ws message, each behind a 4-byte big-endian length (what
 * capbus over ws could gain by coalescing; capbus itself sends one message per frame).
 */
import { WebSocket, WebSocketServer } from "ws";
import { windowFor } from "./payload.js";
import type { Counter } from "./sink.js";

const ACK = new Uint8Array(1);

/** Child: a ws server counting payloads (unpacking batches), or echoing them with `echo`. */
export async function rawWsReceiver(
  counter: Counter,
  options: { echo?: boolean; batched?: boolean },
): Promise<string> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 256 * 1024 * 1024 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  wss.on("connection", (ws) => {
    counter.ack = () => ws.send(ACK);
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      if (options.echo) return ws.send(data);
      if (options.batched) {
        // a batch: [u32 length][payload]...
        let at = 0;
        while (at < data.byteLength) {
          const length = data.readUInt32BE(at);
          counter.hit(data.subarray(at + 4, at + 4 + length));
          at += 4 + length;
        }
      } else counter.hit(data);
    });
  });
  const address = wss.address();
  return `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}

export function openRawWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    ws.binaryType = "nodebuffer";
    ws.once("error", reject);
    ws.once("open", () => resolve(ws));
  });
}

function flushed(ws: WebSocket, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    ws.send(data, { binary: true }, (e) => (e ? reject(e) : resolve())),
  );
}

/**
 * Send `n` payloads, payload i to `sockets[i % k]` (or to every socket when `all`), with about
 * `window` payloads not yet written to the kernel.
 */
export function rawWsStream(
  sockets: readonly WebSocket[],
  bytes: Uint8Array,
  options: { batched?: boolean; all?: boolean; window?: number } = {},
): (n: number) => Promise<void> {
  const k = sockets.length;
  const keep = Math.max(1, Math.floor((options.window ?? windowFor(bytes.byteLength)) / 64));
  const maxBatch = Math.max(1, Math.min(256, Math.floor((64 * 1024) / (bytes.byteLength + 4))));
  const packs = sockets.map(() => [] as Uint8Array[]);
  const flush = (s: number): Promise<void> | undefined => {
    const pack = packs[s]!;
    if (pack.length === 0) return undefined;
    const total = pack.reduce((sum, p) => sum + 4 + p.byteLength, 0);
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const p of pack) {
      out.writeUInt32BE(p.byteLength, at);
      out.set(p, at + 4);
      at += 4 + p.byteLength;
    }
    pack.length = 0;
    return flushed(sockets[s]!, out);
  };
  return async (n) => {
    const marks: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const mark = (i & 63) === 63;
      const targets = options.all ? sockets.keys() : [i % k];
      let last: Promise<void> | undefined;
      for (const s of targets) {
        if (options.batched) {
          packs[s]!.push(bytes);
          if (mark || packs[s]!.length >= maxBatch) last = flush(s) ?? last;
        } else if (mark) last = flushed(sockets[s]!, bytes);
        else sockets[s]!.send(bytes, { binary: true });
      }
      if (mark && last) {
        marks.push(last);
        if (marks.length > keep) await marks.shift();
      }
    }
    for (let s = 0; s < k; s++) {
      const last = flush(s);
      if (last) marks.push(last);
    }
    await Promise.all(marks);
  };
}

/** Wait for `count` one-byte acknowledgements (or echoes) on `ws`. */
export function replies(ws: WebSocket, count: number): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    const on = () => {
      if (--left === 0) {
        ws.off("message", on);
        resolve();
      }
    };
    ws.on("message", on);
  });
}
