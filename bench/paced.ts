/**
 * Where a paced multicast's time goes (row 4's latency): one sender, `fanout` receiver children,
 * `events` multicasts one at a time (each awaited before the next, as row 4), per run the send to
 * last delivery p50/p99, the worst events, and the CPU per event of the sender and each receiver.
 *   node --conditions=@capbus/source --import tsx bench/paced.ts [fanout=8] [events=500] [runs=3] [raw|delivered]
 * `raw`: raw ws instead, each payload written to every receiver, the next once all acknowledged.
 * `delivered`: capbus, the next send once every receiver has acknowledged its delivery (over
 * the same raw ws sockets), rather than once the send is decided.
 * BENCH_CHILD_FLAGS: node flags for the receivers (e.g. `--trace-gc`).
 * PACED_STREAM=<n>: before each run, a stream of n multicasts (256 undecided), as row 4's
 * throughput runs precede its paced ones.
 * PACED_PROFILE=<dir>: the receivers and the sender profile the last run only (no startup) into <dir>; with
 * PACED_HEAP=1 an allocation profile (sampled) instead of a CPU profile.
 */
import type { Handle } from "@capbus/node";
import { capbusSender, stopSender, streamTo } from "./capbus.js";
import { payload, timedPayload } from "./payload.js";
import { receiver } from "./proc.js";
import { openRawWs } from "./raw-ws.js";
import { profile } from "./sink.js";
import { percentiles } from "./stats.js";
import { lastDelivery } from "./timing.js";

const fanout = Number(process.argv[2] ?? 8);
const events = Number(process.argv[3] ?? 500);
const runs = Number(process.argv[4] ?? 3);
const profileDir = process.env.PACED_PROFILE;
const mode = process.argv[5] ?? "capbus";
const raw = mode === "raw";
/** `delivered`: capbus, the next send once every receiver has delivered (acknowledged), as raw. */
const ackEach = raw || mode === "delivered";
const sinks = await Promise.all(
  Array.from({ length: fanout }, () => receiver({ capbus: "ws://127.0.0.1:0", rawWs: true })),
);
const sender = await capbusSender();
const handles: Handle[] = [];
for (const s of sinks) handles.push(await sender.peer.import(s.url));
const sockets = await Promise.all(sinks.map((s) => openRawWs(s.rawUrl)));
let acks = 0;
let acked: (() => void) | undefined;
for (const ws of sockets)
  ws.on("message", () => {
    if (++acks === fanout) acked?.();
  });
const one = raw
  ? (i: number) =>
      new Promise<void>((resolve) => {
        acks = 0;
        acked = resolve;
        const stamped = timedPayload(64, i);
        for (const ws of sockets) ws.send(stamped, { binary: true });
      })
  : mode === "delivered"
    ? (i: number) =>
        new Promise<void>((resolve, reject) => {
          acks = 0;
          acked = resolve;
          sender.peer.send(handles, timedPayload(64, i)).catch(reject);
        })
    : (i: number) => sender.peer.send(handles, timedPayload(64, i));
const us = (ms: number) => (ms * 1000) / events;
const userSys = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  `${us((b.user as number) - (a.user as number)).toFixed(0)}+${us((b.system as number) - (a.system as number)).toFixed(0)}`;
const stream = Number(process.env.PACED_STREAM ?? 0);
const streamed = streamTo(sender, [handles], payload(64), 256);
for (let r = 0; r <= runs; r++) {
  const last = r === runs;
  if (stream > 0) {
    await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "expect", count: stream })));
    await Promise.all([streamed(stream), Promise.all(sinks.map((s) => s.proc.next()))]);
  }
  const heap = process.env.PACED_HEAP === "1";
  if (last && profileDir) {
    await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "profile", dir: profileDir, heap })));
    await profile(profileDir, heap);
  }
  await Promise.all(
    sinks.map((s) => s.proc.ask({ cmd: "expect", count: events, latency: true, ack: ackEach })),
  );
  const rc0 = await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "cpu" })));
  const u0 = process.cpuUsage();
  const t = performance.now();
  const decided: number[] = [];
  const sentAt: number[] = [];
  const send = async () => {
    for (let i = 0; i < events; i++) {
      const t0 = performance.now();
      sentAt.push(t0);
      await one(i);
      decided.push(performance.now() - t0);
    }
  };
  const [, done] = await Promise.all([send(), Promise.all(sinks.map((s) => s.proc.next()))]);
  const ms = performance.now() - t;
  const u1 = process.cpuUsage(u0);
  if (last && profileDir) {
    await profile(undefined);
    await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "profile" })));
  }
  if (r === 0) continue;
  const gc = done.map((d) => d.gc as number[]);
  const lat = lastDelivery(done);
  const { p50, p99 } = percentiles(lat);
  const worst = lat
    .map((l, i) => [l, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([l, i]) => `${l.toFixed(1)}@${i}`);
  if (process.env.PACED_DETAIL) {
    const order = lat
      .map((l, i) => [l, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 8);
    for (const [, i] of order)
      console.log(
        `  #${i} at ${(sentAt[i]! / 1000).toFixed(3)} s: decided ${decided[i]!.toFixed(1)} ms; at receivers ${done.map((d) => (d.latencies as number[])[i]!.toFixed(1)).join(" ")}; next decided ${decided[i + 1]?.toFixed(1)}`,
      );
  }
  const rc1 = await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "cpu" })));
  const rc = rc1.map((c, i) => userSys(rc0[i]!, c));
  console.log(
    `1->${fanout} ${((events / ms) * 1000).toFixed(0)} ev/s; p50 ${p50.toFixed(2)} p99 ${p99.toFixed(2)} ms; worst ${worst.join(" ")}; sender ${us(u1.user / 1000).toFixed(0)}+${us(u1.system / 1000).toFixed(0)} us/ev; receivers user+sys ${rc.join(",")} us/ev; receiver GC pauses ${gc.flat().length}, longest ${Math.max(0, ...gc.flat()).toFixed(1)} ms`,
  );
}
for (const ws of sockets) ws.terminate();
await stopSender(sender);
await Promise.all(sinks.map((s) => s.proc.stop()));
process.exit(0);
