/**
 * (1) unicast stream over ws, (2) over a Unix socket, (6) larger payloads over ws, (8) the ws
 * stream while the sender also holds links to 100 idle peers. One sender (this process), one
 * receiver process; delivered events/s, counted at the receiver.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StartedPeer } from "@capbus/node";
import { capbusSender, FrameCount, stopSender, streamTo } from "./capbus.js";
import { payload } from "./payload.js";
import { Proc, receiver } from "./proc.js";
import { openRawNet, rawNetStream } from "./raw-net.js";
import { openRawWs, rawWsStream } from "./raw-ws.js";
import type { Row } from "./report.js";
import { get, interleave, ratio, throughput } from "./rounds.js";
import { spread } from "./stats.js";
import { timedStream } from "./timing.js";

export interface StreamOptions {
  readonly runs: number;
  readonly seconds: number;
}

/** (1) and (6): ws, payloads of `size` bytes. */
export async function wsStream(o: StreamOptions, size: number, item: number): Promise<Row[]> {
  const bytes = payload(size);
  const sink = await receiver({ capbus: "ws://127.0.0.1:0", rawWs: true, rawWsBatched: true });
  const sender = await capbusSender();
  const rawWs = await openRawWs(sink.rawUrl);
  const batchWs = await openRawWs(sink.batchedUrl);
  try {
    const handle = await sender.peer.import(sink.url);
    const first = size >= 65536 ? 300 : size >= 1024 ? 2000 : 5000;
    const opts = { first, seconds: o.seconds, min: first };
    const go = (sink: Proc, send: (n: number) => Promise<void>) => async (n: number) =>
      (await timedStream([sink], n, () => send(n))).ms;
    const frames = new FrameCount(sender);
    const results = await interleave(o.runs, [
      throughput("capbus", frames.wrap(go(sink.proc, streamTo(sender, [handle], bytes))), opts),
      throughput("raw", go(sink.proc, rawWsStream([rawWs], bytes)), opts),
      throughput("batched", go(sink.proc, rawWsStream([batchWs], bytes, { batched: true })), opts),
    ]);
    const what = `ws stream ${sizeName(size)}`;
    const rows: Row[] = [
      { item, label: `${what}: capbus`, unit: "ev/s", spread: get(results, "capbus") },
      { item, label: `${what}: capbus frames/event`, unit: "fr/ev", spread: spread(frames.runs(o.runs)) },
      { item, label: `${what}: raw ws, 1 msg/payload`, unit: "ev/s", spread: get(results, "raw") },
      { item, label: `${what}: raw ws, batched per burst`, unit: "ev/s", spread: get(results, "batched") },
    ];
    if (size >= 1024) {
      for (const key of ["capbus", "raw", "batched"]) {
        const s = get(results, key);
        const mb = (x: number) => (x * size) / 1e6;
        rows.push({
          item,
          label: `${what}: ${key === "capbus" ? "capbus" : key === "raw" ? "raw ws" : "raw ws batched"}`,
          unit: "MB/s",
          spread: { min: mb(s.min), median: mb(s.median), max: mb(s.max), runs: s.runs.map(mb) },
        });
      }
    }
    rows.push(
      {
        item,
        label: `${what}: capbus / raw ws`,
        unit: "x",
        spread: ratio(results, "capbus", "raw"),
        ...(size === 64 ? { target: ">= 2.0" } : {}),
      },
      {
        item,
        label: `${what}: capbus / raw ws batched`,
        unit: "x",
        spread: ratio(results, "capbus", "batched"),
      },
    );
    return rows;
  } finally {
    rawWs.terminate();
    batchWs.terminate();
    await stopSender(sender);
    await sink.proc.stop();
  }
}

/** (2): Unix socket, 64-byte payloads, beside raw length-prefixed node:net. */
export async function unixStream(o: StreamOptions): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "capbus-bench-"));
  const bytes = payload(64);
  const sink = await receiver({ capbus: `unix:${join(dir, "capbus.sock")}`, rawNet: join(dir, "raw.sock") });
  const sender = await capbusSender();
  const raw = await openRawNet(sink.path);
  const batched = await openRawNet(sink.path);
  try {
    const handle = await sender.peer.import(sink.url);
    const opts = { first: 5000, seconds: o.seconds, min: 5000 };
    const go = (sink: Proc, send: (n: number) => Promise<void>) => async (n: number) =>
      (await timedStream([sink], n, () => send(n))).ms;
    const frames = new FrameCount(sender);
    const results = await interleave(o.runs, [
      throughput("capbus", frames.wrap(go(sink.proc, streamTo(sender, [handle], bytes))), opts),
      throughput("raw", go(sink.proc, rawNetStream(raw, bytes)), opts),
      throughput("batched", go(sink.proc, rawNetStream(batched, bytes, { batched: true })), opts),
    ]);
    const what = "unix stream 64 B";
    return [
      { item: 2, label: `${what}: capbus`, unit: "ev/s", spread: get(results, "capbus") },
      { item: 2, label: `${what}: capbus frames/event`, unit: "fr/ev", spread: spread(frames.runs(o.runs)) },
      { item: 2, label: `${what}: raw net, 1 write/payload`, unit: "ev/s", spread: get(results, "raw") },
      { item: 2, label: `${what}: raw net, corked per tick`, unit: "ev/s", spread: get(results, "batched") },
      {
        item: 2,
        label: `${what}: capbus / raw net`,
        unit: "x",
        spread: ratio(results, "capbus", "raw"),
        target: ">= 1.0",
      },
      {
        item: 2,
        label: `${what}: capbus / raw net corked`,
        unit: "x",
        spread: ratio(results, "capbus", "batched"),
      },
    ];
  } finally {
    raw.destroy();
    batched.destroy();
    await stopSender(sender);
    await sink.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * (8): the ws stream from a sender that also holds links to 100 idle peers (all in one other
 * process), interleaved with a sender holding only the receiver's link.
 */
export async function idleScale(o: StreamOptions, idleCount = 100): Promise<Row[]> {
  const bytes = payload(64);
  const idle = new Proc("capbus-idle", { count: idleCount });
  const [capSink, idleReady] = await Promise.all([receiver({ capbus: "ws://127.0.0.1:0" }), idle.next()]);
  const alone = await capbusSender();
  let crowded: StartedPeer | undefined;
  try {
    crowded = await capbusSender();
    for (const url of idleReady.urls as string[]) await crowded.peer.import(url);
    const idleLinks = crowded.peer.linkedPeers.length;
    const handles = [await alone.peer.import(capSink.url)];
    const crowdedHandle = await crowded.peer.import(capSink.url);
    const opts = { first: 5000, seconds: o.seconds, min: 5000 };
    const go = (send: (n: number) => Promise<void>) => async (n: number) =>
      (await timedStream([capSink.proc], n, () => send(n))).ms;
    const results = await interleave(o.runs, [
      throughput("alone", go(streamTo(alone, handles, bytes)), opts),
      throughput("crowded", go(streamTo(crowded, [crowdedHandle], bytes)), opts),
    ]);
    return [
      { item: 8, label: "ws stream 64 B: capbus, 1 link", unit: "ev/s", spread: get(results, "alone") },
      {
        item: 8,
        label: `ws stream 64 B: capbus, +${idleLinks} idle links`,
        unit: "ev/s",
        spread: get(results, "crowded"),
      },
      {
        item: 8,
        label: `ws stream 64 B: +${idleLinks} idle / 1 link`,
        unit: "x",
        spread: ratio(results, "crowded", "alone"),
        target: ">= 0.95",
      },
    ];
  } finally {
    await stopSender(alone);
    if (crowded) await stopSender(crowded);
    await Promise.all([capSink.proc.stop(), idle.stop()]);
  }
}

function sizeName(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}
