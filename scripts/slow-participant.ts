/**
 * A slow participant (issue 18, Checks; the open point of the batching design note): one
 * destination of the sender's batches sits behind the chaos harness's userspace proxy
 * (FaultyProxy, test/procs/proxy.ts) that holds every chunk for `--delay` ms each way. The sender
 * sends bursts of events in one turn each: unicasts to two fast receivers, multicasts to both,
 * and one event to the slow receiver, so that each burst's round batch has it as a participant.
 * Printed: send-to-delivery latency of the *other* events (those delivered at the fast receivers),
 * p50/p99/max, for
 *   - slow, batched:     the slow receiver in every burst (rules B2-B5, the default caps);
 *   - slow, 1 in 4:      the slow receiver in every 4th burst only;
 *   - slow, unbatched:   every burst, `batch.maxEvents` 1 (each event its own round or unicast);
 *   - no delay, batched: the proxy forwards at once (the same path, the baseline).
 * The bound (spec/ordering.md §14, P7): an event waits for the proposals of its batch's
 * participants and (B4) for the decision of earlier batches, so at most the slowest round trip
 * among those, plus the turns that carry it; the answer timeout (spec/guarantees.md §4.6) ends a
 * participant that stays silent longer.
 *   tsx --conditions=@capbus/source scripts/slow-participant.ts [--delay 50] [--bursts 200]
 *     [--burst 16] [--gap 10]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Handle, type StartedPeer, startPeer } from "@capbus/node";
import { listenUnix } from "@capbus/transport-unix";
import { FaultyProxy } from "../test/procs/proxy.js";

const { values } = parseArgs({
  options: {
    delay: { type: "string", default: "50" },
    bursts: { type: "string", default: "200" },
    burst: { type: "string", default: "16" },
    gap: { type: "string", default: "10" },
  },
});
const delayMs = Number(values.delay);
const bursts = Number(values.bursts);
const burstSize = Number(values.burst);
const gapMs = Number(values.gap);

interface Config {
  readonly name: string;
  readonly delayMs: number;
  /** The slow receiver gets an event in every `slowEvery`th burst. */
  readonly slowEvery: number;
  readonly maxEvents?: number;
}

const configs: Config[] = [
  { name: "slow, batched", delayMs, slowEvery: 1 },
  { name: "slow, 1 in 4 bursts", delayMs, slowEvery: 4 },
  { name: "slow, unbatched", delayMs, slowEvery: 1, maxEvents: 1 },
  { name: "no delay, batched", delayMs: 0, slowEvery: 1 },
];

/** Latencies (ms) of the events delivered at the fast receivers, and the run's wall time. */
async function run(config: Config): Promise<{ latencies: number[]; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), "capbus-slow-"));
  const started: StartedPeer[] = [];
  let proxy: FaultyProxy | undefined;
  try {
    const batch = config.maxEvents === undefined ? {} : { batch: { maxEvents: config.maxEvents } };
    const sender = await startPeer({ listen: [], ...batch });
    started.push(sender);
    const fast = [
      await startPeer({ listen: [`unix:${join(dir, "f1.sock")}`] }),
      await startPeer({ listen: [`unix:${join(dir, "f2.sock")}`] }),
    ];
    started.push(...fast);
    // The slow receiver listens behind the proxy and advertises the proxy's path.
    const slow = await startPeer({ listen: [] });
    started.push(slow);
    const back = join(dir, "slow.sock");
    const front = join(dir, "slow-proxy.sock");
    const listener = await listenUnix(slow.peer, back);
    proxy = await FaultyProxy.start(front, back);
    proxy.latencyMs = config.delayMs;
    slow.peer.advertise(`unix:${front}`);
    const handles: Handle[] = [];
    for (const p of [...fast, slow])
      handles.push(await sender.peer.import(p.peer.export(p.peer.createNode())));
    const [f1, f2, s] = handles as [Handle, Handle, Handle];

    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    // Deliveries at the fast receivers: a multicast (i % 3 === 0) counts twice.
    let expected = 0;
    for (let b = 0; b < bursts; b++) {
      for (let i = 0; i < burstSize; i++) {
        if (i === burstSize >> 1) expected += b % config.slowEvery === 0 ? 0 : 1;
        else expected += i % 3 === 0 ? 2 : 1;
      }
    }
    let delivered = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    for (const r of fast) {
      void (async () => {
        for await (const event of r.peer) {
          if (event.kind !== "message") continue;
          const at = sentAt.get(event.payload as string);
          if (at !== undefined) latencies.push(performance.now() - at);
          if (++delivered === expected) done();
        }
      })();
    }
    const t0 = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let b = 0; b < bursts; b++) {
      const withSlow = b % config.slowEvery === 0;
      // One turn: the burst's events, in order; the slow receiver's in the middle of it.
      for (let i = 0; i < burstSize; i++) {
        const id = `${b}:${i}`;
        sentAt.set(id, performance.now());
        if (i === burstSize >> 1) {
          sends.push(withSlow ? sender.peer.send(s, "slow") : sender.peer.send(f1, id));
          continue;
        }
        const to = i % 3 === 0 ? [f1, f2] : i % 3 === 1 ? f1 : f2;
        sends.push(sender.peer.send(to, id));
      }
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    await Promise.all(sends);
    await all;
    const ms = performance.now() - t0;
    await listener.close();
    return { latencies, ms };
  } finally {
    for (const p of started.reverse()) {
      p.peer.abort();
      await p.close().catch(() => undefined);
    }
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

console.log(
  `slow participant: ${bursts} bursts of ${burstSize} events every ${gapMs} ms; the slow receiver ` +
    `${delayMs} ms away each way (FaultyProxy latency); latency of the other events (fast receivers)`,
);
for (const config of configs) {
  const { latencies, ms } = await run(config);
  const sorted = [...latencies].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1).padStart(7);
  console.log(
    `${config.name.padEnd(22)} p50 ${f(quantile(sorted, 0.5))} ms  p99 ${f(quantile(sorted, 0.99))} ms  ` +
      `max ${f(sorted.at(-1) ?? Number.NaN)} ms  (${sorted.length} events, ${(ms / 1000).toFixed(1)} s)`,
  );
}
process.exit(0);
