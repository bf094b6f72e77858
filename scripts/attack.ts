/**
 * The attack harness (issue 17): a victim (`startPeer` with its defaults, ws on loopback), an
 * honest prober (10 requests a second, its latency and refusals) and an attacker, as three
 * processes; the victim reports its RSS, event-loop stalls, clock and queue. Each attack
 * declares the bounds it must meet (scripts/attack/bounds.ts, spec/security.md §5).
 *
 *   npm run attack -- NAME|all|list [--seconds S] [--json] [--check] [--brief] [--except A,B]
 *     [--timeouts auto|default|short] [--echo]
 *
 * --seconds: the attack's length (default 30; the issue's runs are 120). --brief: each attack's
 * short test length instead (`npm run test:attack`). --check: exit 1 when a bound is missed.
 * --json: only the JSON summaries, one line each. --timeouts: the victim's timeouts profile;
 * `auto` (default) is `short` for time-bound attacks in runs under 100 s. See scripts/attack/README.md.
 */
import { parseArgs } from "node:util";
import { ATTACKS, type AttackSpec, attackNamed } from "./attack/catalog.js";
import type { Profile } from "./attack/profile.js";
import { abortRun, runAttack, type Summary } from "./attack/run.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string" },
    json: { type: "boolean", default: false },
    check: { type: "boolean", default: false },
    brief: { type: "boolean", default: false },
    timeouts: { type: "string", default: "auto" },
    echo: { type: "boolean", default: false },
    except: { type: "string" },
  },
});

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run attack -- NAME|all|list [--seconds S] [--json] [--check] [--brief] [--except A,B]`,
  );
  console.error(`attacks: ${ATTACKS.map((a) => a.name).join(", ")}`);
  process.exit(2);
}

const target = positionals[0] ?? usage("name an attack");
if (target === "list") {
  for (const a of ATTACKS)
    console.log(`${a.name.padEnd(20)} finding ${a.finding.padEnd(3)} ${a.access.padEnd(14)} ${a.does}`);
  process.exit(0);
}
const except = new Set(values.except?.split(",") ?? []);
for (const name of except) if (!attackNamed(name)) usage(`no attack named ${name}`);
const chosen: readonly AttackSpec[] =
  target === "all"
    ? ATTACKS.filter((a) => !except.has(a.name))
    : [attackNamed(target) ?? usage(`no attack named ${target}`)];
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
if (seconds !== undefined && !(seconds > 0)) usage("--seconds must be above 0");
if (!["auto", "default", "short"].includes(values.timeouts)) usage("--timeouts is auto, default or short");

function profileFor(spec: AttackSpec, runSeconds: number): Profile {
  if (values.timeouts !== "auto") return values.timeouts as Profile;
  return spec.timed && runSeconds < 100 ? "short" : "default";
}

// Ctrl-C or a kill: end the run's processes before going.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the run's processes`);
    void abortRun().finally(() => process.exit(130));
  });
}

const fmt = (ms: number) => `${ms}`;

/** One line per attack: the figures the table in the README shows. */
function line(s: Summary): string {
  const v = s.victim;
  const h = s.honest;
  const honest = h
    ? `honest p50/p99/max ${fmt(h.roundTrip.p50)}/${fmt(h.roundTrip.p99)}/${fmt(h.roundTrip.max)} ms` +
      `${h.roundTrip.unanswered ? ` (${h.roundTrip.unanswered} unanswered)` : ""}  refused ${h.refused ? "yes" : "no"}`
    : "honest: no report";
  const missed = s.checks.filter((c) => c.ok === false).map((c) => `${c.bound} [${c.got}]`);
  return [
    `${s.attack.padEnd(19)} ${s.ok ? "ok  " : "FAIL"}`,
    `rss ${v.maxRssMB} MB`,
    `stall ${v.maxBusyStallMs} ms (${v.stallsOver50} > 50)`,
    honest,
    `crashed ${v.crashed ? "yes" : "no"}`,
    ...(s.stopped ? ["would exceed"] : []),
    ...(missed.length > 0 ? [`missed: ${missed.join("; ")}`] : []),
  ].join("  ");
}

const summaries: Summary[] = [];
let failed = 0;
for (const spec of chosen) {
  const runSeconds = seconds ?? (values.brief ? spec.testSeconds : 30);
  const profile = profileFor(spec, runSeconds);
  if (!values.json)
    console.error(`[attack] ${spec.name}: ${runSeconds} s, ${profile} timeouts: ${spec.does}`);
  let summary: Summary;
  try {
    summary = await runAttack(spec, { seconds: runSeconds, profile, echo: values.echo });
  } catch (error) {
    console.error(`[attack] ${spec.name}: the run failed: ${error instanceof Error ? error.message : error}`);
    failed++;
    continue;
  }
  summaries.push(summary);
  if (!summary.ok) failed++;
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(line(summary));
    console.log(JSON.stringify(summary, null, 2));
  }
}
if (!values.json && summaries.length > 1) {
  console.log("\nsummary:");
  for (const s of summaries) console.log(line(s));
}
if (!values.json) {
  const met = summaries.filter((s) => s.ok).length;
  console.error(`[attack] ${met} of ${chosen.length} met their bounds`);
}
process.exit(values.check && failed > 0 ? 1 : 0);
