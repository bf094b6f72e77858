/**
 * Where a stream's time goes: one capbus stream (unix, ws, alt: alternating 1->2 over ws, or mc:
 * multicast 1->8 over ws, as row 4, 256 undecided), capbus only, and for each run its rate, the
 * CPU time per event of the sender (this process) and of each receiver, how busy each was over the
 * run (above 100%: GC and other threads), frames per event and the heap. A multicast is one event.
 *   node --conditions=@capbus/source --import tsx bench/cpu.ts <unix|ws|alt|mc> [events=200000] [runs=3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capbusSender, stopSender, streamTo } from "./capbus.js";
import { payload } from "./payload.js";
import { receiver } from "./proc.js";
import { cpuMs } from "./sink.js";

const kind = process.argv[2] ?? "unix";
const n = Number(process.argv[3] ?? 200000);
const runs = Number(process.argv[4] ?? 3);
const dir = mkdtempSync(join(tmpdir(), "capbus-exp-"));
const count = kind === "alt" ? 2 : kind === "mc" ? 8 : 1;
const sinks = await Promise.all(
  Array.from({ length: count }, (_, i) =>
    receiver({ capbus: kind === "unix" ? `unix:${join(dir, `c${i}.sock`)}` : "ws://127.0.0.1:0" }),
  ),
);
const sender = await capbusSender();
const handles: Awaited<ReturnType<typeof sender.peer.import>>[] = [];
for (const s of sinks) handles.push(await sender.peer.import(s.url));
const go =
  kind === "mc" ? streamTo(sender, [handles], payload(64), 256) : streamTo(sender, handles, payload(64));
const frames = () => {
  let f = 0;
  for (const l of Object.values(sender.peer.stats().links)) f += l.framesOut + l.framesIn;
  return f;
};
for (let r = 0; r < runs + 1; r++) {
  const m = r === 0 ? 20000 : n;
  // Each receiver gets every multicast, one of each alternation.
  const per = kind === "mc" ? m : m / count;
  await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "expect", count: per })));
  const f0 = frames();
  const c0 = cpuMs();
  const rc0 = await Promise.all(sinks.map((s) => s.proc.ask({ cmd: "cpu" })));
  const t = performance.now();
  const [, done] = await Promise.all([go(m), Promise.all(sinks.map((s) => s.proc.next()))]);
  const ms = performance.now() - t;
  if (r === 0) continue;
  const sc = cpuMs() - c0;
  const rc = done.map((d, i) => (d.cpu as number) - (rc0[i]!.cpu as number));
  console.log(
    `${kind} ${(((m / ms) * 1000) / 1000).toFixed(1)}k ev/s; sender cpu ${((sc * 1000) / m).toFixed(2)} us/ev (${((sc / ms) * 100).toFixed(0)}% busy); receiver cpu ${rc.map((c) => ((c * 1000) / per).toFixed(2)).join(",")} us/ev (${rc.map((c) => ((c / ms) * 100).toFixed(0)).join(",")}% busy); frames/ev ${((frames() - f0) / m).toFixed(3)}; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`,
  );
}
await stopSender(sender);
await Promise.all(sinks.map((s) => s.proc.stop()));
rmSync(dir, { recursive: true, force: true });
process.exit(0);
