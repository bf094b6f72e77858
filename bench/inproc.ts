/**
 * A paced multicast with every peer in this one process (over real ws loopback links): CPU per
 * event without the scheduling of 9 processes on 2 cores, for profiling the code itself.
 *   node --conditions=@capbus/source --import tsx bench/inproc.ts [fanout=8] [events=5000] [runs=3]
 */
import { type Handle, startPeer } from "@capbus/node";
import { payload } from "./payload.js";

const fanout = Number(process.argv[2] ?? 8);
const events = Number(process.argv[3] ?? 5000);
const runs = Number(process.argv[4] ?? 3);
const receivers = await Promise.all(
  Array.from({ length: fanout }, () => startPeer({ listen: ["ws://127.0.0.1:0"] })),
);
let delivered = 0;
let wake: (() => void) | undefined;
for (const { peer } of receivers) {
  void (async () => {
    for await (const event of peer) {
      if (event.kind !== "message") continue;
      if (++delivered === events * fanout) wake?.();
    }
  })();
}
const sender = await startPeer({ listen: [] });
const handles: Handle[] = [];
for (const r of receivers) handles.push(await sender.peer.import(r.peer.export(r.peer.createNode())));
const bytes = payload(64);
for (let r = 0; r <= runs; r++) {
  delivered = 0;
  const all = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const c0 = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < events; i++) await sender.peer.send(handles, bytes);
  await all;
  const ms = performance.now() - t;
  const c = process.cpuUsage(c0);
  if (r === 0) continue;
  console.log(
    `1->${fanout} in one process: ${((events / ms) * 1000).toFixed(0)} ev/s; ${(c.user / events).toFixed(0)} user + ${(c.system / events).toFixed(0)} sys us/ev (all peers)`,
  );
}
sender.peer.abort();
await sender.close();
for (const r of receivers) {
  r.peer.abort();
  await r.close();
}
process.exit(0);
