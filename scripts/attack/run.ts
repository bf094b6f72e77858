/**
 * One attack run: the victim, the honest prober and the attacker as three processes (testkit),
 * the victim's samples watched (an attack stops once the victim passes the RSS stop line), and
 * the summary with its bound checks. Every process ends before `runAttack` returns, pass or fail.
 */
import { type PeerProcess, TestKit } from "@capbus/testkit";
import {
  BOUNDS,
  type Check,
  checks,
  type Honest,
  honestFigures,
  type ProberDone,
  type RunData,
  type Sample,
  type VictimFigures,
  type VictimFinal,
  victimFigures,
} from "./bounds.js";
import type { AttackSpec } from "./catalog.js";
import type { Figures } from "./context.js";
import type { Profile } from "./profile.js";

export interface RunOptions {
  readonly seconds: number;
  readonly profile: Profile;
  /** Copy the children's own output to stderr. */
  readonly echo: boolean;
}

export interface Summary {
  readonly attack: string;
  readonly finding: string;
  readonly access: string;
  readonly seconds: number;
  readonly profile: string;
  readonly stageTimeoutMs: number;
  readonly stopped: string | null;
  readonly victim: VictimFigures;
  readonly honest: Honest | null;
  readonly attacker: Figures | null;
  readonly checks: readonly Check[];
  readonly ok: boolean;
}

const VICTIM = new URL("./victim.ts", import.meta.url);
const PROBER = new URL("./prober.ts", import.meta.url);
const ATTACKER = new URL("./attacker.ts", import.meta.url);
const SAMPLE_MS = 250;
const PROBES_PER_SECOND = 10;
/** The victim's V8 heap limit: a runaway ends in an OOM at 3 GB, not at the machine's expense. */
const VICTIM_NODE_OPTIONS = "--max-old-space-size=3072";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const wallNow = () => performance.timeOrigin + performance.now();
const maybe = <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);

/** The kit of the run under way, so a Ctrl-C can end its processes. */
let current: TestKit | undefined;

/** End the processes of the run under way (Ctrl-C, a harness failure). */
export async function abortRun(): Promise<void> {
  const kit = current;
  current = undefined;
  if (!kit) return;
  for (const child of kit.processes) child.kill();
  await kit[Symbol.asyncDispose]();
}

export async function runAttack(spec: AttackSpec, options: RunOptions): Promise<Summary> {
  const kit = new TestKit({ timeoutMs: 60_000, graceMs: 3_000, echo: options.echo });
  current = kit;
  try {
    return await run(kit, spec, options);
  } finally {
    // Nothing graceful is needed: kill, then let the kit reap and clean up.
    for (const child of kit.processes) child.kill();
    await kit[Symbol.asyncDispose]();
    if (current === kit) current = undefined;
  }
}

async function run(kit: TestKit, spec: AttackSpec, options: RunOptions): Promise<Summary> {
  const victim = await kit.start(
    "victim",
    VICTIM,
    { profile: options.profile, sampleMs: SAMPLE_MS },
    { env: { NODE_OPTIONS: VICTIM_NODE_OPTIONS } },
  );
  const { timeouts } = await victim.next<{ timeouts: RunData["timeouts"] }>("timeouts");
  const samples: Sample[] = [];
  let stopped: string | undefined;
  let crashed: string | undefined;
  let wake: () => void = () => undefined;
  const early = new Promise<void>((resolve) => {
    wake = resolve;
  });
  void collect(victim, samples, (sample) => {
    if (stopped === undefined && sample.rss > BOUNDS.rssStopBytes) {
      stopped = `stopped when the victim passed ${BOUNDS.rssStopBytes >> 20} MB RSS: would exceed`;
      wake();
    }
  });
  let finishing = false;
  void victim.exited.then((exit) => {
    if (finishing) return;
    crashed = exit.signal ?? `code ${exit.code}`;
    wake();
  });

  const prober = await kit.start("prober", PROBER, {
    url: victim.urls.probe,
    rateHz: PROBES_PER_SECOND,
    profile: options.profile,
    newcomers: spec.newcomers ?? false,
    newcomerEveryMs: 2_000,
  });
  prober.tell({ go: true });
  await sleep(500);
  victim.tell({ mark: true });
  let { marked: mark } = await victim.next<{ marked: RunData["mark"] }>("marked");

  const attacker = kit.spawn("attacker", ATTACKER, {
    attack: spec.name,
    endpoint: victim.urls.endpoint,
    victim: victim.peer,
    ...(spec.access === "capability" ? { url: victim.urls.attack } : {}),
    seconds: options.seconds,
    stageTimeoutMs: timeouts.stageTimeoutMs,
  });
  await attacker.next("started");
  if (spec.warmup) {
    await attacker.next("warmed");
    victim.tell({ mark: true, data: true });
    ({ marked: mark } = await victim.next<{ marked: RunData["mark"] }>("marked"));
  }
  const attackStart = wallNow();
  void spec.orchestrate?.({ victim, attacker }).catch(() => undefined);
  await Promise.race([sleep(options.seconds * 1000), early, attacker.exited]);
  const attackEnd = wallNow();

  attacker.tell({ stop: true });
  prober.tell({ stop: true });
  const figures = await maybe(attacker.next<{ done: Figures }>("done", { timeoutMs: 15_000 }));
  const honest = await maybe(prober.next<{ done: ProberDone }>("done", { timeoutMs: 15_000 }));
  // Sessions the attacker just closed settle before the victim's last figures (leaks).
  await attacker.stop(2_000);
  await sleep(spec.retained ? 2_000 : 200);
  let final: VictimFinal | undefined;
  if (crashed === undefined) {
    victim.tell({ finish: true, data: spec.warmup === true });
    final = (await maybe(victim.next<{ final: VictimFinal }>("final", { timeoutMs: 30_000 })))?.final;
  }
  finishing = true;

  const data: RunData = {
    spec,
    seconds: options.seconds,
    profile: options.profile,
    timeouts,
    attackStart,
    attackEnd,
    samples,
    mark,
    final,
    prober: honest?.done,
    attacker: figures?.done ?? { error: `no report (${attacker.output.split("\n").slice(-3).join(" | ")})` },
    victimExit: crashed,
    stopped,
  };
  const victimSummary = victimFigures(data);
  const honestSummary = honestFigures(data);
  const results = checks(data, victimSummary, honestSummary);
  return {
    attack: spec.name,
    finding: spec.finding,
    access: spec.access,
    seconds: Math.round((attackEnd - attackStart) / 100) / 10,
    profile: options.profile,
    stageTimeoutMs: timeouts.stageTimeoutMs,
    stopped: stopped ?? null,
    victim: victimSummary,
    honest: honestSummary ?? null,
    attacker: data.attacker ?? null,
    checks: results,
    ok: results.every((c) => c.ok !== false),
  };
}

/** Take the victim's samples as they come, until it exits. */
async function collect(
  victim: PeerProcess,
  samples: Sample[],
  seen: (sample: Sample) => void,
): Promise<void> {
  for (;;) {
    const line = await maybe(victim.next<{ sample: Sample }>("sample", { timeoutMs: 2_000_000_000 }));
    if (!line) return;
    samples.push(line.sample);
    seen(line.sample);
  }
}
