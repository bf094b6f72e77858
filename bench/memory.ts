/**
 * (7) memory, in one child process started with --expose-gc and an explicit heap quota: heap
 * bytes per held handle (a peer importing `handles` grants), and per queued undelivered event
 * (a receiver holding `events` 64-byte messages the application has not read, over a Unix
 * socket within the process), with the payload's own cost measured alone and subtracted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Peer, startPeer } from "@capbus/node";
import { type Frame, FrameCodec } from "@capbus/wire";
import { sendWindowed } from "./capbus.js";
import { payload } from "./payload.js";
import { Proc } from "./proc.js";
import type { Row } from "./report.js";
import { out } from "./sink.js";
import { spread } from "./stats.js";

interface MemoryOptions {
  readonly runs: number;
  readonly handles: number;
  readonly events: number;
  readonly bigHandles: number;
}

function used(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function perHandle(count: number): Promise<number> {
  const peer = new Peer({ id: "holder" });
  const before = used();
  for (let i = 1; i <= count; i++) peer.importHandle({ owner: "owner", node: i, holder: peer.id });
  const after = used();
  if (peer.linkedPeers.length !== 0) throw new Error("unexpected links");
  peer.abort();
  return (after - before) / count;
}

/** Heap per 64-byte payload decoded from a frame and kept (what an event's payload costs). */
function perPayload(count: number): number {
  const codec = new FrameCodec();
  const bytes = payload(64);
  const kept = new Array<unknown>(count);
  const before = used();
  for (let i = 0; i < count; i++) {
    const frame = codec.decode(
      codec.encode({ type: "unicast", seq: i + 1, ack: 0, event: i + 1, clock: i, node: 1, payload: bytes }),
    ) as Frame & { payload: unknown };
    kept[i] = frame.payload;
  }
  const after = used();
  // Read `kept` afterwards, or the collector may take it before `after` is measured.
  if (kept.length !== count) throw new Error("lost payloads");
  return (after - before) / count - 8; // less the array slot
}

async function perQueued(count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "capbus-bench-mem-"));
  // The quota is set explicitly so that all `count` events may wait unread (one sender may
  // otherwise fill half of the default 65536).
  const receiver = await startPeer({
    listen: [`unix:${join(dir, "r.sock")}`],
    quota: { maxQueuedEvents: 4 * count, maxQueuedBytes: 2 ** 30 },
  });
  const sender = await startPeer({ listen: [] });
  try {
    const handle = await sender.peer.import(receiver.peer.export(receiver.peer.createNode()));
    const bytes = payload(64);
    await sendWindowed(1000, () => sender.peer.send(handle, bytes));
    while (receiver.peer.queued < 1000) await sleep(5);
    while (receiver.peer.poll()) {}
    await sleep(100);
    const before = used();
    await sendWindowed(count, () => sender.peer.send(handle, bytes));
    while (receiver.peer.queued < count) await sleep(5);
    await sleep(100); // the last acknowledgements
    const after = used();
    return (after - before) / count;
  } finally {
    sender.peer.abort();
    receiver.peer.abort();
    await sender.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Child role `memory`. */
export async function memoryChild(o: MemoryOptions): Promise<void> {
  const handles: number[] = [];
  const queued: number[] = [];
  const payloads: number[] = [];
  const big: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    handles.push(await perHandle(o.handles));
    payloads.push(perPayload(o.events));
    queued.push(await perQueued(o.events));
  }
  if (o.bigHandles > 0) big.push(await perHandle(o.bigHandles));
  out({ handles, queued, payloads, big });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

export async function memory(o: {
  runs: number;
  handles: number;
  events: number;
  bigHandles: number;
}): Promise<Row[]> {
  const proc = new Proc("memory", o, ["--expose-gc", "--max-old-space-size=4096"]);
  try {
    const r = await proc.next(300_000);
    const handles = r.handles as number[];
    const queued = r.queued as number[];
    const payloads = r.payloads as number[];
    const beyond = queued.map((q, i) => q - payloads[i]!);
    const k = (n: number) => `${n / 1000}k`;
    const rows: Row[] = [
      {
        item: 7,
        label: `memory: heap per held handle (${k(o.handles)})`,
        unit: "B",
        spread: spread(handles),
        target: "<= 128",
      },
    ];
    if (o.bigHandles > 0) {
      rows.push({
        item: 7,
        label: `memory: heap per held handle (${k(o.bigHandles)}, 1 run)`,
        unit: "B",
        spread: spread(r.big as number[]),
        target: "<= 128",
      });
    }
    rows.push(
      { item: 7, label: `memory: per queued event, all (${k(o.events)})`, unit: "B", spread: spread(queued) },
      { item: 7, label: "memory: its 64-byte payload alone", unit: "B", spread: spread(payloads) },
      {
        item: 7,
        label: "memory: per queued event beyond payload",
        unit: "B",
        spread: spread(beyond),
        target: "<= 128",
      },
    );
    return rows;
  } finally {
    await proc.stop();
  }
}
