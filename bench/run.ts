/**
 * `npm run bench`: every measurement, capbus beside its raw baseline in the same run, `--runs`
 * runs each (min/median/max), one table on stdout and the same rows as JSON in `--out`.
 *
 *   npm run bench -- [--runs 5] [--seconds 0.6] [--only 1,3,9] [--out bench/last-run.json]
 *                    [--big-handles 1000000] [--child-prof <dir>] [--variant capbus] [--fanout 8]
 *
 * `--variant capbus` runs only that side (to profile it): run the runner itself under
 * `node --cpu-prof`, and `--child-prof <dir>` makes the children write profiles too. `--fanout`
 * sets (4)'s receiver count (its target is for 8): how its latency grows with the processes that
 * share the machine's cores.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { codec } from "./codec.js";
import { memory } from "./memory.js";
import { multicast } from "./multicast.js";
import { setChildFlags, stopAll } from "./proc.js";
import { json, type Row, table } from "./report.js";
import { requestReply } from "./request.js";
import { setOnlyVariant } from "./rounds.js";
import { spread } from "./stats.js";
import { idleScale, unixStream, wsStream } from "./stream.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    seconds: { type: "string", default: "0.6" },
    only: { type: "string" },
    out: { type: "string", default: "bench/last-run.json" },
    "big-handles": { type: "string", default: "1000000" },
    "child-prof": { type: "string" },
    variant: { type: "string" },
    fanout: { type: "string", default: "8" },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const only = values.only ? new Set(values.only.split(",").map(Number)) : undefined;
const want = (item: number) => !only || only.has(item);
setOnlyVariant(values.variant);
if (values["child-prof"]) setChildFlags(["--cpu-prof", `--cpu-prof-dir=${values["child-prof"]}`]);

const o = { runs, seconds };
const rows: Row[] = [];
const failed: string[] = [];
const started = performance.now();
const step = async (item: number, name: string, fn: () => Promise<Row[]>) => {
  if (!want(item)) return;
  const t = performance.now();
  process.stderr.write(`bench: (${item}) ${name}...`);
  try {
    rows.push(...(await fn()));
    process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    failed.push(`(${item}) ${name}: ${error instanceof Error ? error.message : String(error)}`);
    process.stderr.write(` FAILED: ${failed.at(-1)}\n`);
    await stopAll();
  }
};

try {
  await step(9, "codec", () => codec(o));
  await step(1, "ws stream, 64 B", () => wsStream(o, 64, 1));
  await step(2, "unix stream, 64 B", () => unixStream(o));
  await step(3, "request/reply", () => requestReply(o));
  // Rows 4 and 5 share receivers: `--only 5` runs (5) alone, on two of them.
  const fanout = Number(values.fanout);
  await step(want(4) ? 4 : 5, `multicast 1->${fanout}, alternating 1->2`, () =>
    multicast(o, { multicast: want(4), alternating: want(5) }, fanout),
  );
  await step(6, "ws stream, 1 KiB", () => wsStream(o, 1024, 6));
  await step(6, "ws stream, 64 KiB", () => wsStream(o, 65536, 6));
  await step(7, "memory", () =>
    memory({ runs, handles: 100_000, events: 100_000, bigHandles: Number(values["big-handles"]) }),
  );
  await step(8, "ws stream with 100 idle links", () => idleScale(o));
} finally {
  await stopAll();
}

// (4)'s latency target is against (3)'s raw ping-pong: run by run.
const rawPing = rows.find((r) => r.label === "request/reply: raw ws p50");
const mcast = rows.find((r) => r.label.endsWith("capbus send->last p50"));
if (rawPing && mcast) {
  const at = rows.indexOf(mcast) + 1;
  rows.splice(at, 0, {
    item: 4,
    label: "multicast p50 / raw ws ping-pong p50",
    unit: "x",
    spread: spread(mcast.spread.runs.map((x, i) => x / (rawPing.spread.runs[i] ?? Number.NaN))),
    target: "<= 3.0",
  });
}
const sorted = rows
  .map((r, i) => ({ r, i }))
  .sort((a, b) => a.r.item - b.r.item || a.i - b.i)
  .map((x) => x.r);
const wall = (performance.now() - started) / 1000;
const meta = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
  runs,
  secondsPerRun: seconds,
  wallSeconds: Math.round(wall),
  failed,
};
console.log(table(sorted));
console.log(
  `\n${runs} runs each; ratios are taken run by run. ${meta.cpus}, node ${meta.node}; ${meta.wallSeconds} s.`,
);
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, json(sorted, meta));
console.log(`wrote ${values.out}`);
if (failed.length > 0) {
  console.log(`failed:\n  ${failed.join("\n  ")}`);
  process.exitCode = 1;
}
