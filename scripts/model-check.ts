/**
 * Model check of the ordering protocol (spec/verification.md). Runs spin's exhaustive search on
 * every configuration in spec/model/ (each must report no error) and on every mutation (each
 * must report an error: a counterexample), prints states, transitions and time per run and a
 * summary table, and exits non-zero when a configuration fails, a mutation is not caught, or
 * spin or gcc is missing.
 *   npm run test:model                       all runs, two at a time
 *   npm run test:model -- --trace            also print each counterexample
 *   npm run test:model -- transfer no-hold   only runs whose name contains one of the words
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIGS, MODEL_DIR, MUTATIONS } from "./model-runs.js";

/** pan: safety and end states (no cycle search), no weak fairness, exact state compression. */
const GCC_FLAGS = ["-w", "-DSAFETY", "-DNOFAIR", "-DCOLLAPSE", "-DMEMLIM=6144"];
/** Compiling pan.c dominates a mutation run (it stops at the first error): optimise less there. */
const OPT = { "no error": "-O1", caught: "-O0" } as const;
const PAN_FLAGS = ["-m10000"];

interface Job {
  readonly name: string;
  readonly config: string;
  readonly defines: readonly string[];
  readonly expect: "no error" | "caught";
}

interface Outcome {
  readonly job: Job;
  readonly ok: boolean;
  readonly errors: number;
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly seconds: number;
  /** the violated property (or "invalid end state"), when pan found an error */
  readonly violated: string;
  /** a problem with the run itself (compile error, incomplete search) */
  readonly problem: string;
  readonly trace: readonly string[];
}

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

function run(cmd: string, args: readonly string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

function num(out: string, re: RegExp): number {
  const m = re.exec(out);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

/** Peer names from the configuration's `#define A 0` lines, for readable traces. */
function peerNames(config: string): Map<string, string> {
  const names = new Map<string, string>();
  const text = readFileSync(join(MODEL_DIR, `${config}.pml`), "utf8");
  for (const m of text.matchAll(/^#define ([A-Z]_?) (\d)$/gm)) {
    if (m[1] !== undefined && m[2] !== undefined) names.set(m[2], m[1].replace("_", ""));
  }
  return names;
}

/** A frame's x field: a commit's dead flag, the entries (events) a proposal refuses, or a
 * `committed` answer's bad signature (reconcile.pml). */
function frameNote(kind: string, x: number): string {
  if (kind === "COMMIT" && x === 1) return " (lists the node dead)";
  if (kind === "COMMITTED" && x === 1) return " (forged: the sender never signed it)";
  if (kind !== "PROPOSE" || x === 0) return "";
  const refused = [...Array(8).keys()].filter((i) => (x & (1 << i)) !== 0).map((i) => `e${i}`);
  return ` (refuses ${refused.join(" ")})`;
}

/** The model's `T ...` printf lines of a trail, peers named. */
function readableTrace(out: string, names: Map<string, string>): string[] {
  const name = (n: string) => names.get(n) ?? n;
  const lines: string[] = [];
  for (const raw of out.split("\n")) {
    const m = /^\s*T (\d) (.*)$/.exec(raw);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    const who = name(m[1]);
    const frame = /^<- (\d) (\w+) ([eb]\d) (\d+) x=(\d+)$/.exec(m[2]);
    if (frame?.[1] !== undefined) {
      const [, from = "", kind = "", id = "", val = "", x = "0"] = frame;
      const value = ["REJECT", "ABORT", "QUERY", "FENCED", "GONE"].includes(kind) ? "" : ` ${val}`;
      lines.push(`${who} <- ${name(from)}: ${kind} ${id}${value}${frameNote(kind, Number(x))}`);
    } else {
      const text = m[2].replace(
        /\b(session with|node|from) (\d)\b/g,
        (_, w: string, n: string) => `${w} ${name(n)}`,
      );
      lines.push(`${who}: ${text}`);
    }
  }
  return lines;
}

async function check(job: Job, root: string): Promise<Outcome> {
  const dir = join(root, job.name.replace(/[^\w-]/g, "_"));
  mkdirSync(dir);
  for (const f of readdirSync(MODEL_DIR)) if (f.endsWith(".pml")) cpSync(join(MODEL_DIR, f), join(dir, f));
  const defines = job.defines.map((d) => `-D${d}`);
  const base = { job, errors: 0, states: 0, transitions: 0, depth: 0, violated: "", trace: [] };
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const spin = await run("spin", ["-a", ...defines, `${job.config}.pml`], dir);
  if (spin.code !== 0)
    return { ...base, ok: false, seconds: elapsed(), problem: `spin -a: ${spin.out.trim()}` };
  const gcc = await run("gcc", [OPT[job.expect], ...GCC_FLAGS, "-o", "pan", "pan.c"], dir);
  if (gcc.code !== 0) return { ...base, ok: false, seconds: elapsed(), problem: `gcc: ${gcc.out.trim()}` };
  const pan = await run("./pan", PAN_FLAGS, dir);
  const seconds = elapsed();
  const errors = num(pan.out, /errors: (\d+)/);
  const counts = {
    errors,
    states: num(pan.out, /(\d+) states, stored/),
    transitions: num(pan.out, /(\d+) transitions/),
    depth: num(pan.out, /depth reached (\d+)/),
    seconds,
  };
  let problem = "";
  if (/max search depth too small|out of memory|search not completed/.test(pan.out)) {
    problem = "incomplete search";
  } else if (!/State-vector/.test(pan.out)) {
    problem = `pan: ${pan.out.trim().split("\n").slice(-3).join(" ")}`;
  }
  let violated = "";
  let trace: string[] = [];
  if (errors > 0) {
    violated =
      /assertion violated (\w+)/.exec(pan.out)?.[1] ??
      (/invalid end state/.test(pan.out) ? "invalid end state (deadlock)" : "error");
    const replay = await run("spin", ["-t", ...defines, `${job.config}.pml`], dir);
    trace = readableTrace(replay.out, peerNames(job.config));
  }
  const ok = problem === "" && (job.expect === "caught" ? errors > 0 : errors === 0);
  return { ...base, ...counts, ok, violated, problem, trace };
}

async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const showTrace = args.includes("--trace");
  const filters = args.filter((a) => !a.startsWith("--"));
  for (const tool of ["spin", "gcc"]) {
    if (!hasTool(tool)) {
      console.error(`model check: ${tool} is not installed (Debian: apt-get install -y ${tool}); failing.`);
      return 1;
    }
  }
  const jobs: Job[] = [
    ...CONFIGS.map((c): Job => ({ name: c.name, config: c.name, defines: [], expect: "no error" })),
    ...MUTATIONS.map((m): Job => ({ name: m.name, config: m.config, defines: m.defines, expect: "caught" })),
  ].filter((j) => filters.length === 0 || filters.some((f) => j.name.includes(f) || j.config.includes(f)));
  if (jobs.length === 0) {
    console.error(`model check: no run matches ${filters.join(", ")}`);
    return 1;
  }
  const root = mkdtempSync(join(tmpdir(), "capbus-model-"));
  const width = Math.max(1, Math.min(2, availableParallelism()));
  const started = performance.now();
  let outcomes: Outcome[];
  try {
    const heavy = new Set(CONFIGS.filter((c) => c.heavy).map((c) => c.name));
    const order = [...jobs.filter((j) => heavy.has(j.name)), ...jobs.filter((j) => !heavy.has(j.name))];
    const byJob = new Map<Job, Outcome>();
    await pool(order, width, async (job) => {
      const o = await check(job, root);
      const what = job.expect === "caught" ? `mutation ${job.name} on ${job.config}` : `config ${job.name}`;
      const verdict = o.problem !== "" ? o.problem : o.errors > 0 ? `error: ${o.violated}` : "no error";
      console.log(
        `${o.ok ? "ok  " : "FAIL"} ${what}: ${o.states} states, ${o.transitions} transitions, ` +
          `depth ${o.depth}, ${o.seconds.toFixed(1)}s: ${verdict}`,
      );
      if ((showTrace || (!o.ok && o.errors > 0)) && o.trace.length > 0) {
        console.log(o.trace.map((l) => `       ${l}`).join("\n"));
      }
      byJob.set(job, o);
    });
    outcomes = jobs.map((j) => byJob.get(j) as Outcome);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const total = (performance.now() - started) / 1000;

  console.log(
    "\nrun                          config            expect    states     transitions  time    result",
  );
  for (const o of outcomes) {
    const result = o.problem !== "" ? o.problem : o.errors > 0 ? `caught: ${o.violated}` : "no error";
    console.log(
      `${pad(o.job.name, 28)} ${pad(o.job.config, 17)} ${pad(o.job.expect === "caught" ? "error" : "none", 6)}` +
        ` ${lpad(String(o.states), 9)} ${lpad(String(o.transitions), 14)} ${lpad(o.seconds.toFixed(1), 6)}s` +
        `  ${o.ok ? "" : "FAIL "}${result}`,
    );
  }
  const failed = outcomes.filter((o) => !o.ok);
  console.log(
    `\n${outcomes.length - failed.length}/${outcomes.length} runs as expected in ${total.toFixed(1)}s` +
      ` (${width} at a time)`,
  );
  for (const o of failed) {
    console.error(
      o.job.expect === "caught"
        ? `FAIL: mutation ${o.job.name} was not caught on ${o.job.config}${o.problem ? ` (${o.problem})` : ""}`
        : `FAIL: config ${o.job.name}: ${o.problem || `spin found an error: ${o.violated}`}`,
    );
  }
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
