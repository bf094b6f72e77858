/**
 * The bounds every attack must meet (issue 17, "Targets"; spec/security.md §5), and
 * the figures they are checked on. One table, so the numbers live in one place: a fix that
 * documents a different default changes it here and in the spec together.
 */
import type { AttackSpec } from "./catalog.js";
import type { Figures } from "./context.js";
import type { NewcomerRecord, ProbeRecord } from "./prober.js";

const MB = 1024 * 1024;

export const BOUNDS = {
  /** Victim RSS at the defaults, any attack. */
  rssBytes: 512 * MB,
  /** The harness stops an attack once the victim passes this ("would exceed"). */
  rssStopBytes: 1024 * MB,
  /** Pre-auth: the longest the victim's event loop may be busy in one go. */
  stallMs: 50,
  /** Pre-auth: the honest peer's delivery latency, p99. */
  preauthP99Ms: 100,
  /**
   * Capability-less: how far the victim's clock may advance over a run of `ms` with `probes`
   * honest requests: hybrid logical clocks move 2^11 per millisecond plus at most their adopt
   * offset (5 s) ahead of physical time (../shared/design/clocks.md); a Lamport clock only by
   * the honest events. The slack covers both.
   */
  clockAdvance: (ms: number, probes: number) => (ms + 6_000) * 2048 + 64 * (probes + 16),
  /**
   * Capability-less destroys (spec/ordering.md §9.1): the victim's clock, sampled every 250 ms,
   * never more than this ahead of its own wall clock. Its honest peer is on the same host, so
   * only its own ticks (2^11 a millisecond) put it ahead; a destroy's value applied would put it
   * seconds ahead (up to the adopt offset).
   */
  clockAheadMs: 1_000,
  /** Capability-less: the victim's queue as the honest traffic alone leaves it. */
  queue: { staged: 1, depth: 2, oldestStagedMs: 1_000 },
  /**
   * Capability-holding: the longest one sender may delay others' deliveries, as documented
   * (spec/limits.md §3.2: the stage timeout), plus slack for the round and the noisy machine.
   */
  holdMs: (stageTimeoutMs: number) => stageTimeoutMs + 2_000,
  /** Capability-holding: once the hold bound has passed, honest delivery is back to normal (p99). */
  lastingP99Ms: 1_000,
  /** raw-sockets: open descriptors of the victim (pre-auth connections are capped). */
  descriptors: 2_048,
  /** raw-sockets: a connection that sends nothing is closed within the handshake timeout (+2 s). */
  idleCloseMs: (handshakeTimeoutMs: number) => handshakeTimeoutMs + 2_000,
} as const;

// ---- what a run collects ------------------------------------------------------------------

export interface Sample {
  readonly t: number;
  readonly rss: number;
  readonly heap: number;
  readonly clock: number;
  readonly depth: number;
  readonly staged: number;
  readonly oldestStagedMs: number;
  readonly links: number;
  readonly fds: number;
  readonly maxStall: number;
  readonly maxBusyStall: number;
}

export interface VictimFinal {
  readonly stalls: {
    readonly max: number;
    readonly maxBusy: number;
    readonly over50: number;
    readonly busyOver50: number;
    readonly loopDelayMaxMs: number;
  };
  readonly probes: ReadonlyArray<readonly [number, number]>;
  readonly clock: number;
  readonly heapAfterGc: number;
  /** The heap's data after a full GC (code and V8's metadata left out), when asked for. */
  readonly heapData?: number;
  readonly rss: number;
  readonly fds: number;
  readonly links: number;
  readonly queue: { readonly depth: number; readonly staged: number };
  readonly quotaRefusals: number;
  readonly stageTimeouts: number;
  readonly counts: Record<string, unknown>;
}

export interface ProberDone {
  readonly probes: readonly ProbeRecord[];
  readonly closes: ReadonlyArray<{ readonly at: number; readonly code: string; readonly remote: string }>;
  readonly newcomers: readonly NewcomerRecord[];
}

export interface RunData {
  readonly spec: AttackSpec;
  readonly seconds: number;
  readonly profile: string;
  readonly timeouts: { readonly stageTimeoutMs: number; readonly handshakeTimeoutMs: number };
  /** Wall clock (ms since the epoch) when the attack began and ended. */
  readonly attackStart: number;
  readonly attackEnd: number;
  readonly samples: readonly Sample[];
  /** The victim's clock and heap (after GC; `data`: its data, when asked for) just before the attack. */
  readonly mark: { readonly clock: number; readonly heap: number; readonly data?: number } | undefined;
  readonly final: VictimFinal | undefined;
  readonly prober: ProberDone | undefined;
  readonly attacker: Figures | undefined;
  /** How the victim ended if it ended before the harness stopped it (a crash). */
  readonly victimExit: string | undefined;
  /** Why the attack stopped early, if it did. */
  readonly stopped: string | undefined;
}

// ---- figures ------------------------------------------------------------------------------

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Probes never answered: their age at the end is counted as their latency. */
  readonly unanswered: number;
}

/** Nearest-rank percentiles; unanswered values are already in `values` as their age. */
export function latency(values: readonly number[], unanswered: number): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return {
    count: sorted.length,
    p50: Math.round(at(0.5)),
    p99: Math.round(at(0.99)),
    max: Math.round(sorted.at(-1) ?? 0),
    unanswered,
  };
}

export interface Honest {
  readonly sent: number;
  /** Send to delivery at the victim's application. */
  readonly delivery: Latency;
  /** Send to the victim's reply back at the prober. */
  readonly roundTrip: Latency;
  /** Round trips of probes sent once the hold bound had passed (capability-holding attacks). */
  readonly lasting: Latency | null;
  /** Failure codes of probes, and codes the prober's sessions closed with. */
  readonly refusals: Record<string, number>;
  readonly refused: boolean;
  readonly newcomers: { readonly tried: number; readonly ok: number; readonly codes: Record<string, number> };
}

export function honestFigures(run: RunData): Honest | undefined {
  const prober = run.prober;
  if (!prober) return undefined;
  const delivered = new Map(run.final?.probes ?? []);
  const end = run.attackEnd;
  const during = prober.probes.filter(([, sentAt]) => sentAt >= run.attackStart);
  const refusals: Record<string, number> = {};
  for (const [, , , code] of during) if (code !== null) refusals[code] = (refusals[code] ?? 0) + 1;
  for (const close of prober.closes)
    refusals[`closed ${close.code}`] = (refusals[`closed ${close.code}`] ?? 0) + 1;
  const answered = during.filter(([, , , code]) => code === null);
  const delivery = answered.map(([n, sentAt]) => (delivered.get(n) ?? end) - sentAt);
  const roundTrip = answered.map(([, sentAt, rtt]) => rtt ?? end - sentAt);
  const undelivered = answered.filter(([n]) => !delivered.has(n)).length;
  const unanswered = answered.filter(([, , rtt]) => rtt === null).length;
  const settled = run.attackStart + BOUNDS.holdMs(run.timeouts.stageTimeoutMs) + 2_000;
  // Probes sent once the hold bound passed, each given at least the latency bound to come back.
  const late = answered.filter(([, sentAt]) => sentAt >= settled && sentAt <= end - BOUNDS.lastingP99Ms);
  const newcomerCodes: Record<string, number> = {};
  for (const n of prober.newcomers) if (n.code) newcomerCodes[n.code] = (newcomerCodes[n.code] ?? 0) + 1;
  return {
    sent: during.length,
    delivery: latency(delivery, undelivered),
    roundTrip: latency(roundTrip, unanswered),
    lasting:
      late.length === 0
        ? null
        : latency(
            late.map(([, sentAt, rtt]) => rtt ?? end - sentAt),
            late.filter(([, , rtt]) => rtt === null).length,
          ),
    refusals,
    refused: Object.keys(refusals).length > 0,
    newcomers: {
      tried: prober.newcomers.length,
      ok: prober.newcomers.filter((n) => n.ok).length,
      codes: newcomerCodes,
    },
  };
}

export interface VictimFigures {
  readonly maxRssMB: number;
  readonly maxStallMs: number;
  readonly maxBusyStallMs: number;
  readonly stallsOver50: number;
  readonly clockStart: number;
  readonly clockEnd: number;
  /** The most the victim's clock was ahead of its wall clock at a sample (ms). */
  readonly maxClockAheadMs: number;
  readonly maxStaged: number;
  readonly maxDepth: number;
  readonly maxOldestStagedMs: number;
  readonly maxLinks: number;
  readonly maxFds: number;
  readonly retainedBytes: number | null;
  readonly crashed: boolean;
  readonly responsive: boolean;
}

export function victimFigures(run: RunData): VictimFigures {
  const { samples, final } = run;
  const max = (pick: (s: Sample) => number) => samples.reduce((m, s) => Math.max(m, pick(s)), 0);
  const rss = Math.max(
    max((s) => s.rss),
    final?.rss ?? 0,
  );
  return {
    maxRssMB: Math.round(rss / MB),
    maxStallMs: Math.round(final?.stalls.max ?? max((s) => s.maxStall)),
    maxBusyStallMs: Math.round(final?.stalls.maxBusy ?? max((s) => s.maxBusyStall)),
    stallsOver50: final?.stalls.busyOver50 ?? -1,
    clockStart: run.mark?.clock ?? 0,
    clockEnd: Math.max(
      final?.clock ?? 0,
      max((s) => s.clock),
    ),
    maxClockAheadMs: Math.round(
      samples.reduce(
        (m, s) => Math.max(m, s.clock / 2048 - s.t),
        samples.length ? Number.NEGATIVE_INFINITY : 0,
      ),
    ),
    maxStaged: max((s) => s.staged),
    maxDepth: max((s) => s.depth),
    maxOldestStagedMs: Math.round(max((s) => s.oldestStagedMs)),
    maxLinks: max((s) => s.links),
    maxFds: Math.max(
      max((s) => s.fds),
      final?.fds ?? 0,
    ),
    retainedBytes: retained(run),
    crashed: run.victimExit !== undefined,
    responsive: final !== undefined,
  };
}

/** Heap kept after the attack: its data when both marks measured it, else all of it. */
function retained({ final, mark }: RunData): number | null {
  if (!final || !mark) return null;
  if (final.heapData !== undefined && mark.data !== undefined) return final.heapData - mark.data;
  return final.heapAfterGc - mark.heap;
}

// ---- the checks ---------------------------------------------------------------------------

export interface Check {
  readonly bound: string;
  /** true: met; false: missed; null: not applicable to this run (too short, say). */
  readonly ok: boolean | null;
  readonly got: string;
}

export function checks(run: RunData, victim: VictimFigures, honest: Honest | undefined): Check[] {
  const out: Check[] = [];
  const add = (bound: string, ok: boolean | undefined, got: string) =>
    out.push({ bound, ok: ok ?? null, got });
  const { access, extra = [] } = run.spec;
  const ms = run.attackEnd - run.attackStart;

  add("victim does not crash", !victim.crashed, victim.crashed ? `exited: ${run.victimExit}` : "alive");
  add(
    "victim answers the harness at the end",
    victim.responsive,
    victim.responsive ? "yes" : "no final report",
  );
  const rssOk = victim.maxRssMB * MB <= BOUNDS.rssBytes;
  add(
    `victim RSS <= ${BOUNDS.rssBytes / MB} MB`,
    rssOk,
    `${victim.maxRssMB} MB${run.stopped ? ` (${run.stopped})` : ""}`,
  );
  if (!honest) {
    add("honest prober reports", false, "no report");
    return out;
  }
  add(
    "honest peer never refused",
    !honest.refused,
    honest.refused ? JSON.stringify(honest.refusals) : "never",
  );

  if (access === "pre-auth") {
    add(
      `no event-loop stall > ${BOUNDS.stallMs} ms`,
      victim.maxBusyStallMs <= BOUNDS.stallMs,
      `${victim.maxBusyStallMs} ms`,
    );
    add(
      `honest delivery p99 < ${BOUNDS.preauthP99Ms} ms`,
      honest.delivery.p99 < BOUNDS.preauthP99Ms,
      `${honest.delivery.p99} ms`,
    );
  }
  if (access === "no capability" || extra.includes("capability-less")) {
    const allowed = Math.round(BOUNDS.clockAdvance(ms + 1_000, honest.sent));
    const advance = victim.clockEnd - victim.clockStart;
    add("victim clock unaffected", advance <= allowed, `advanced ${advance} (allowed ${allowed})`);
    const q = BOUNDS.queue;
    add(
      "victim queue unaffected",
      victim.maxStaged <= q.staged &&
        victim.maxDepth <= q.depth &&
        victim.maxOldestStagedMs <= q.oldestStagedMs,
      `staged <= ${victim.maxStaged}, depth <= ${victim.maxDepth}, oldest staged ${victim.maxOldestStagedMs} ms`,
    );
  }
  if (access === "capability") {
    const hold = BOUNDS.holdMs(run.timeouts.stageTimeoutMs);
    add(`honest round trip <= ${hold} ms`, honest.roundTrip.max <= hold, `max ${honest.roundTrip.max} ms`);
    const lasting = honest.lasting;
    add(
      `honest p99 < ${BOUNDS.lastingP99Ms} ms once the hold bound passed`,
      lasting === null ? undefined : lasting.p99 < BOUNDS.lastingP99Ms,
      lasting === null ? "run too short" : `p99 ${lasting.p99} ms of ${lasting.count}`,
    );
  }
  if (extra.includes("clock-near-wall")) {
    add(
      `victim clock never > ${BOUNDS.clockAheadMs} ms ahead of its wall clock`,
      victim.maxClockAheadMs <= BOUNDS.clockAheadMs,
      `at most ${victim.maxClockAheadMs} ms ahead`,
    );
  }
  if (extra.includes("newcomers")) {
    const { tried, ok, codes } = honest.newcomers;
    add(
      "a newcomer with the capability gets in",
      tried > 0 && ok === tried,
      `${ok} of ${tried} ${JSON.stringify(codes)}`,
    );
  }
  if (extra.includes("descriptors")) {
    add(
      `victim descriptors <= ${BOUNDS.descriptors}`,
      victim.maxFds <= BOUNDS.descriptors,
      `${victim.maxFds}`,
    );
  }
  if (extra.includes("idle-sockets")) {
    const limit = BOUNDS.idleCloseMs(run.timeouts.handshakeTimeoutMs);
    const oldest = Number(run.attacker?.oldestOpenMs ?? 0);
    add(
      `idle raw sockets closed within ${limit} ms`,
      ms < limit + 3_000 ? undefined : oldest <= limit,
      ms < limit + 3_000 ? "run too short" : `oldest still open ${oldest} ms`,
    );
  }
  if (run.spec.retained) {
    const sessions = Number(run.attacker?.sessions ?? 0) - Number(run.attacker?.warmupSessions ?? 0);
    const limit = run.spec.retained.fixed + run.spec.retained.perSession * sessions;
    const kept = victim.retainedBytes;
    add(
      `heap retained after the attack <= ${limit} bytes${sessions ? ` (${sessions} sessions)` : ""}`,
      kept === null ? false : kept <= limit,
      kept === null
        ? "no figure"
        : `${kept} bytes${sessions ? ` (${Math.round(kept / sessions)} per session)` : ""}`,
    );
  }
  return out;
}
