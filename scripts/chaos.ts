/**
 * Chaos harness: N real peer processes (testkit), each behind a userspace proxy that every link
 * to it crosses, run a seeded random workload while a seeded injector delays, stalls and resets
 * the proxies and pauses processes (SIGSTOP/SIGCONT, within and past the grace period), and with
 * --kill SIGKILLs one peer mid-run and starts a new one in its place (a new peer). Every fault
 * goes to faults.jsonl beside the traces; at the end the checker runs over the traces (P1-P6
 * among peers alive to each other).
 *
 *   npm run chaos -- --peers 5 --seconds 30 --seed 1 [--kill [--kill-at random|commit|abort]]
 *     [--one-by-one] [--grace MS] [--dead-after MS] [--stage-timeout MS] [--out DIR]
 *
 * --kill-at commit (abort) has the victim kill itself mid-way through a multicast's commits
 * (aborts): some destinations got them, the others not (issue 22). The summary counts the
 * multicasts split among the peers by cause; unless CAPBUS_RECONCILE=0 (test/support/reconcile.ts)
 * the traces are checked in strict atomicity, so a split among live peers is a violation.
 *
 * Exits 1 on any violation (or if the run could not complete).
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type CheckReport, formatReport } from "@capbus/checker";
import { Random } from "@capbus/sim";
import { CheckFailedError, type PeerProcess, TestKit } from "@capbus/testkit";
import { FaultyProxy } from "../test/procs/proxy.js";
import { RECONCILE } from "../test/support/reconcile.js";

const { values } = parseArgs({
  options: {
    peers: { type: "string", default: "5" },
    seconds: { type: "string", default: "30" },
    seed: { type: "string", default: "1" },
    nodes: { type: "string", default: "2" },
    kill: { type: "boolean", default: false },
    "kill-at": { type: "string", default: "random" },
    out: { type: "string" },
    echo: { type: "boolean", default: false },
    "one-by-one": { type: "boolean", default: false },
    grace: { type: "string", default: "4000" },
    "dead-after": { type: "string", default: "2000" },
    "stage-timeout": { type: "string" },
  },
});
const PEERS = Number(values.peers);
const SECONDS = Number(values.seconds);
const SEED = Number(values.seed) >>> 0;
const NODES = Number(values.nodes);
const GRACE_MS = Number(values.grace);
const DEAD_AFTER_MS = Number(values["dead-after"]);
if (!(PEERS >= 2) || !(SECONDS > 0)) throw new Error("need --peers >= 2 and --seconds > 0");
const KILL_AT = values["kill-at"];
if (KILL_AT !== "random" && KILL_AT !== "commit" && KILL_AT !== "abort")
  throw new Error("--kill-at is random, commit or abort");
/** An armed victim that has not died mid-round by then is killed anyway (logged as `kill`). */
const ARMED_KILL_WAIT_MS = 10_000;
/** A pause this long outlasts the dead-link timeout plus the grace period: the others expire it. */
const PAST_GRACE_MS = DEAD_AFTER_MS + GRACE_MS;

// The checker reads every .jsonl of its directory: traces go to <run>/traces, faults beside them.
const runDir = values.out ?? mkdtempSync(join(tmpdir(), `capbus-chaos-${SEED}-`));
const traceDir = join(runDir, "traces");
mkdirSync(traceDir, { recursive: true });
const faultsFile = join(runDir, "faults.jsonl");
/** Lines the victim writes as it kills itself mid-round (scripts/chaos/kill-mid-round.ts). */
const killLog = join(runDir, "kills.jsonl");
const random = new Random(SEED);
const t0 = Date.now();
const faultCounts: Record<string, number> = {};
const logFault = (kind: string, target: string, detail: Record<string, unknown> = {}) => {
  faultCounts[kind] = (faultCounts[kind] ?? 0) + 1;
  appendFileSync(faultsFile, `${JSON.stringify({ t: Date.now() - t0, kind, target, ...detail })}\n`);
};
const log = (text: string) => console.error(`[chaos ${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}`);

// CAPBUS_TESTKIT_KEEP-like: keep the traces (we print where they are).
const kit = new TestKit({ traceDir, timeoutMs: 60_000, graceMs: 10_000, echo: values.echo });
const proxies: FaultyProxy[] = [];
const timers = new Set<ReturnType<typeof setTimeout>>();
const later = (ms: number, fn: () => void) => {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
};

interface Stats {
  ops: number;
  deliveries: { message: number; destroyed: number; released: number };
  [key: string]: unknown;
}

/**
 * Arm the victim to kill itself mid-way through a multicast's commits (aborts), and wait for it to
 * die; kill it outright if it has not after ARMED_KILL_WAIT_MS.
 */
async function killMidRound(child: PeerProcess, name: string, phase: "commit" | "abort"): Promise<void> {
  child.tell({ armKill: phase });
  const timeout = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ARMED_KILL_WAIT_MS));
  if ((await Promise.race([child.exited, timeout])) === "late") {
    child.kill();
    logFault("kill", name, { armed: phase });
    log(`killed ${name} (armed for ${phase}, it never got there)`);
    return;
  }
  logFault(`kill-mid-${phase}`, name);
  log(`${name} killed itself mid-${phase}`);
}

let exitCode = 0;
try {
  log(`seed ${SEED}, ${PEERS} peers, ${SECONDS} s, run in ${runDir}`);
  const names = Array.from({ length: PEERS }, (_, i) => `p${i}`);
  const children: PeerProcess[] = [];
  const start = async (name: string, index: number): Promise<PeerProcess> => {
    const back = kit.socketPath(`${name}b`);
    const front = kit.socketPath(`${name}f`);
    proxies[index] = await FaultyProxy.start(front, back);
    return kit.spawn(name, new URL("./chaos/peer.ts", import.meta.url), {
      back,
      front,
      seed: (SEED * 7919 + index + 1 + (name.endsWith("r") ? 1000 : 0)) >>> 0,
      nodes: NODES,
      graceMs: GRACE_MS,
      deadAfterMs: DEAD_AFTER_MS,
      stageTimeoutMs: values["stage-timeout"] === undefined ? undefined : Number(values["stage-timeout"]),
      killLog,
    });
  };
  for (const [i, name] of names.entries()) children.push(await start(name, i));
  await Promise.all(children.map((c) => c.ready));
  const urls = children.map((c) => Object.values(c.urls));
  // All peers import at once by default, so crossed dials (spec/transports.md §3.4) are part of the
  // run; --one-by-one links them in turn.
  if (values["one-by-one"]) {
    for (const [i, child] of children.entries()) {
      child.tell({ peers: urls.filter((_, j) => j !== i).flat() });
      await child.next("imported");
    }
  } else {
    for (const [i, child] of children.entries()) child.tell({ peers: urls.filter((_, j) => j !== i).flat() });
    await Promise.all(children.map((c) => c.next("imported")));
  }
  log(`all ${PEERS} peers linked; workload starts`);
  for (const child of children) child.tell({ go: true });

  // The injector: one fault every 150-900 ms, on a seeded schedule.
  const paused = new Set<number>();
  let killDone = false;
  /** The killed peer's slot while its replacement starts: no fault targets it meanwhile. */
  let vacant: number | undefined;
  let restarting: Promise<void> | undefined;
  const endAt = Date.now() + SECONDS * 1000;
  while (Date.now() < endAt) {
    await new Promise((resolve) => setTimeout(resolve, random.int(150, 900)));
    const i = random.int(0, PEERS - 1);
    const name = names[i] as string;
    const proxy = proxies[i] as FaultyProxy;
    const child = children[i] as PeerProcess;
    const roll = random.next();
    const remaining = endAt - Date.now();
    if (values.kill && !killDone && remaining < SECONDS * 600) {
      // Mid-run: kill one peer (its trace ends without close: excused), and a little later start
      // a new peer in its place, which imports the others and joins the workload.
      if (paused.has(i)) continue;
      killDone = true;
      vacant = i;
      const restartAfter = random.int(500, 3000);
      if (KILL_AT === "random") {
        child.kill();
        logFault("kill", name);
        log(`killed ${name}`);
      }
      restarting = (async () => {
        if (KILL_AT !== "random") await killMidRound(child, name, KILL_AT);
        await new Promise((resolve) => setTimeout(resolve, restartAfter));
        await proxies[i]?.close();
        const fresh = await start(`${name}r`, i);
        await fresh.ready;
        children[i] = fresh;
        fresh.tell({
          peers: children
            .filter((c) => c !== fresh && c.exit === undefined)
            .flatMap((c) => Object.values(c.urls)),
        });
        await fresh.next("imported");
        fresh.tell({ go: true });
        logFault("restart", `${name}r`);
        log(`started ${name}r in place of ${name}`);
        vacant = undefined;
      })();
    } else if (i === vacant) {
      // Its replacement is still starting.
    } else if (roll < 0.3) {
      proxy.reset();
      logFault("reset", name);
    } else if (roll < 0.55) {
      const ms = random.chance(0.2) ? random.int(1000, 4000) : random.int(50, 600);
      proxy.stall(ms);
      logFault("stall", name, { ms });
    } else if (roll < 0.8) {
      const delayMs = random.int(1, 20);
      const ms = random.int(200, 2000);
      proxy.delayMs = delayMs;
      later(ms, () => {
        proxy.delayMs = 0;
      });
      logFault("delay", name, { delayMs, ms });
    } else if (!paused.has(i) && child.pid !== undefined && child.exit === undefined) {
      // Mostly within the grace period (the links resume); sometimes past it (the others expire
      // their sessions with the paused peer, which finds them gone when it wakes).
      const long = random.chance(0.15);
      const ms = long
        ? random.int(PAST_GRACE_MS + 1000, PAST_GRACE_MS + 3000)
        : random.chance(0.3)
          ? random.int(500, Math.max(600, GRACE_MS - 500))
          : random.int(100, 400);
      const pid = child.pid;
      paused.add(i);
      process.kill(pid, "SIGSTOP");
      logFault(long ? "pause-past-grace" : "pause", name, { ms });
      later(ms, () => {
        paused.delete(i);
        if (child.exit === undefined) process.kill(pid, "SIGCONT");
      });
    }
  }
  await restarting;
  // Let pending resumes and pauses end before stopping the workload.
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const proxy of proxies) proxy.delayMs = 0;
  for (const i of paused) {
    const pid = children[i]?.pid;
    if (pid !== undefined && children[i]?.exit === undefined) process.kill(pid, "SIGCONT");
  }
  log("workload stops; waiting for sends to settle");
  const alive = children.filter((c) => c.exit === undefined);
  for (const child of alive) child.tell({ stop: true });
  const stats = (await Promise.all(alive.map((c) => c.next<{ done: Stats }>("done")))).map((l) => l.done);

  log("stopping peers and checking traces");
  let report: CheckReport;
  try {
    report = await kit.check({ atomicity: RECONCILE ? "strict" : "lenient" });
  } catch (error) {
    if (!(error instanceof CheckFailedError)) throw error;
    report = error.report;
  }
  for (const proxy of proxies) await proxy.close();
  proxies.length = 0;

  const sum = (key: string) => stats.reduce((n, s) => n + (Number(s[key]) || 0), 0);
  const merge = (key: string) => {
    const out: Record<string, number> = {};
    for (const s of stats)
      for (const [k, v] of Object.entries((s[key] as Record<string, number>) ?? {}))
        out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const violations = Object.values(report.violationCounts).reduce((a, b) => a + b, 0);
  const summary = {
    seed: SEED,
    peers: PEERS,
    seconds: Math.round((Date.now() - t0) / 1000),
    runDir,
    operations: {
      total: sum("ops"),
      unicast: sum("unicast"),
      multicast: sum("multicast"),
      withHandles: sum("withHandles"),
      thirdParty: sum("thirdParty"),
      reaction: sum("reaction"),
      destroy: sum("destroy"),
      release: sum("release"),
      refused: merge("refused"),
      destinationCodes: merge("destinationCodes"),
      unsettled: sum("unsettled"),
    },
    deliveries: report.counts.deliveries,
    deliveriesByKind: report.counts.deliveriesByKind,
    faults: faultCounts,
    violations,
    violationCounts: report.violationCounts,
    crashed: report.counts.crashed,
    expires: report.counts.expires,
    excused: report.excused,
    atomicity: report.atomicity,
    killsMidRound: existsSync(killLog)
      ? readFileSync(killLog, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
      : [],
    partialMulticasts: report.partial.events,
    partialMissingByCause: report.partial.missing,
  };
  if (violations > 0) console.log(formatReport(report));
  console.log(JSON.stringify(summary, null, 2));
  exitCode = violations > 0 || !report.ok ? 1 : 0;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  for (const timer of timers) clearTimeout(timer);
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await kit[Symbol.asyncDispose]();
}
process.exit(exitCode);
