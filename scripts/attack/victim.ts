/**
 * The attack harness's victim (scripts/attack.ts): a `startPeer` peer with its defaults over ws
 * on loopback (or the short timeouts profile, see README), and an application that reads every
 * event, answers every request, and releases every handle it is sent. It exports two nodes:
 * `probe` for the honest prober and `attack` for an attacker that needs a capability.
 *
 * It reports, as JSON lines: `sample` every `sampleMs` (RSS, heap, clock, queue, links, open
 * descriptors, the longest event-loop stall so far), and on `{ finish }` a `final` line with
 * the stall figures, every probe's delivery time, and the heap after a full GC.
 * Commands: `{ destroy: true }` destroys the `attack` node; `{ mark: true }` (the attack starts)
 * answers `marked` with the clock and the heap after a full GC, and restarts the stall figures.
 * With `data: true`, `mark` and `finish` also measure the heap's data (`heapData`).
 */
import { readdirSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapSnapshot, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CapbusError, type StartOptions, startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { type Profile, profileOptions } from "./profile.js";

interface Inputs {
  readonly profile: Profile;
  readonly sampleMs: number;
}

const ctx = childContext<Inputs>();
const { profile, sampleMs } = ctx.inputs;

// A full GC on demand, for the heap retained after the attack (not exposed without the flag).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const options: StartOptions = { trace: undefined, ...profileOptions(profile) };
const started = await startPeer(options);
const { peer } = started;
ctx.onStop(() => started.close());

const probe = peer.createNode();
const target = peer.createNode();

// ---- stalls: a 10 ms tick; a late tick is a stall, counted when the loop was busy for it -------

const TICK_MS = 10;
const STALL_MS = 50;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const stalls = { max: 0, maxBusy: 0, over50: 0, busyOver50: 0 };
let lastTick = performance.now();
let lastCpu = process.cpuUsage();
setInterval(() => {
  const now = performance.now();
  const cpu = process.cpuUsage();
  const late = now - lastTick - TICK_MS;
  // CPU time (all threads) spent while the tick was late: a loop blocked by work, not by the
  // machine's other processes (it is shared and noisy).
  const busy = Math.min(late, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 - TICK_MS);
  lastTick = now;
  lastCpu = cpu;
  if (late > stalls.max) stalls.max = late;
  if (busy > stalls.maxBusy) stalls.maxBusy = busy;
  if (late > STALL_MS) stalls.over50++;
  if (busy > STALL_MS) stalls.busyOver50++;
}, TICK_MS).unref();

// ---- the application ----------------------------------------------------------------------

/** Probe number → when it was delivered here (ms since the epoch, fractional). */
const probes: Array<[number, number]> = [];
const counts = { messages: 0, requests: 0, released: 0, replyErrors: {} as Record<string, number> };
const wallNow = () => performance.timeOrigin + performance.now();

void (async () => {
  for await (const event of peer) {
    if (event.kind !== "message") continue;
    counts.messages++;
    for (const handle of event.handles) {
      if (handle.state !== "live") continue;
      handle.release();
      counts.released++;
    }
    if (event.node === probe) {
      const n = (event.payload as { n?: unknown })?.n;
      if (typeof n === "number") probes.push([n, wallNow()]);
    }
    if (event.reply) {
      counts.requests++;
      event.reply({ at: wallNow() }).catch((error: unknown) => {
        const code = error instanceof CapbusError ? error.code : "other";
        counts.replyErrors[code] = (counts.replyErrors[code] ?? 0) + 1;
      });
    }
  }
})();

ctx.ready(
  { probe: peer.export(probe), attack: peer.export(target), endpoint: started.endpoints[0] ?? "" },
  { peer: peer.id },
);
ctx.tell({ timeouts: { ...peer.timeouts } });

// ---- samples ------------------------------------------------------------------------------

const fds = (): number => {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return -1;
  }
};

setInterval(() => {
  const stats = peer.stats();
  const memory = process.memoryUsage();
  ctx.tell({
    sample: {
      t: wallNow(),
      rss: memory.rss,
      heap: memory.heapUsed,
      external: memory.external + memory.arrayBuffers,
      clock: peer.clock,
      depth: stats.queue.depth,
      staged: stats.queue.staged,
      oldestStagedMs: stats.queue.oldestStagedMs,
      unread: stats.queue.unread,
      undecided: stats.events.undecided,
      links: Object.keys(stats.links).length,
      quotaRefusals: stats.quotaRefusals,
      stageTimeouts: stats.stageTimeouts,
      fds: fds(),
      maxStall: stalls.max,
      maxBusyStall: stalls.maxBusy,
    },
  });
}, sampleMs).unref();

// ---- commands -----------------------------------------------------------------------------

const heapAfterGc = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

/** What a heap snapshot's node types are: data, or V8's own (code and its metadata, maps, ...). */
const DATA_TYPES = new Set([
  "object",
  "array",
  "string",
  "concatenated string",
  "sliced string",
  "number",
  "closure",
  "regexp",
  "bigint",
  "symbol",
]);

/**
 * The heap's data after a full GC, from a heap snapshot: every object but compiled code, its
 * metadata (feedback vectors, deoptimization data, ...) and maps, which V8 keeps adding long after
 * start (over 1 MB in the 10 s after the leaks attack's warm-up, on a loaded machine), bounded by
 * the program and not by what peers send. Only on request (`data` in `mark` and `finish`): the
 * snapshot of a large heap takes seconds.
 */
const heapData = async (): Promise<number> => {
  gc();
  const chunks: string[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(String(chunk));
  const snapshot = JSON.parse(chunks.join("")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
  };
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta;
  const [type, size, width] = [fields.indexOf("type"), fields.indexOf("self_size"), fields.length];
  const names = types[0];
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    if (DATA_TYPES.has(names[snapshot.nodes[i + type] ?? -1] ?? "")) total += snapshot.nodes[i + size] ?? 0;
  }
  return total;
};

void (async () => {
  for (;;) {
    const line = await ctx.next();
    if (line.destroy) {
      const at = wallNow();
      peer.destroy(target).then(
        () => ctx.tell({ destroyed: { ms: wallNow() - at } }),
        (error: unknown) => ctx.tell({ destroyed: { error: String(error) } }),
      );
    } else if (line.mark) {
      const data = line.data ? await heapData() : undefined;
      ctx.tell({ marked: { heap: heapAfterGc(), data, clock: peer.clock } });
      // The attack starts now: stalls count from here (start-up and this GC are not its doing).
      Object.assign(stalls, { max: 0, maxBusy: 0, over50: 0, busyOver50: 0 });
      delay.reset();
      lastTick = performance.now();
      lastCpu = process.cpuUsage();
    } else if (line.finish) {
      const stats = peer.stats();
      ctx.tell({
        final: {
          stalls: { ...stalls, loopDelayMaxMs: delay.max / 1e6 },
          probes,
          counts,
          clock: peer.clock,
          heapAfterGc: heapAfterGc(),
          heapData: line.data ? await heapData() : undefined,
          rss: process.memoryUsage().rss,
          queue: stats.queue,
          links: Object.keys(stats.links).length,
          quotaRefusals: stats.quotaRefusals,
          stageTimeouts: stats.stageTimeouts,
          fds: fds(),
        },
      });
    }
  }
})();
