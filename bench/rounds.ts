/**
 * Repeated, interleaved runs: every variant of a measurement is warmed up once, then run once
 * per round, round after round, so capbus and its baseline see the same machine noise; the
 * ratio of two variants is taken run by run.
 */
import { type Spread, spread } from "./stats.js";

/** One run's figures, by name (e.g. `{ rate }`, or `{ rate, p50, p99 }`). */
export type Figures = Record<string, number>;

export interface Variant {
  readonly key: string;
  /** Once before the measured runs: warm up, and size the runs. */
  warm(): Promise<void>;
  run(): Promise<Figures>;
}

export type Results = Map<string, Map<string, number[]>>;

/** Only variants with this key run (for profiling one side); undefined: all. */
let onlyVariant: string | undefined;
export function setOnlyVariant(key: string | undefined): void {
  onlyVariant = key;
}

export async function interleave(runs: number, all: readonly Variant[]): Promise<Results> {
  const variants = onlyVariant === undefined ? all : all.filter((v) => v.key === onlyVariant);
  const results: Results = new Map(all.map((v) => [v.key, new Map()]));
  if (runs === 0) return results; // a part of a measurement left out (`--only`)
  for (const v of variants) {
    const t = performance.now();
    await v.warm();
    debug(`warm ${v.key}: ${(performance.now() - t).toFixed(0)} ms`);
  }
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      const t = performance.now();
      const figures = await v.run();
      debug(`run ${v.key}: ${(performance.now() - t).toFixed(0)} ms ${JSON.stringify(figures)}`);
      const byName = results.get(v.key)!;
      for (const [name, value] of Object.entries(figures)) {
        if (!byName.has(name)) byName.set(name, []);
        byName.get(name)!.push(value);
      }
    }
  }
  return results;
}

/**
 * A throughput variant: `go(n)` moves n units and returns the elapsed ms. The warm-up run (n =
 * `first`) sizes later runs to take about `seconds` each.
 */
export function throughput(
  key: string,
  go: (n: number) => Promise<number>,
  options: { first: number; seconds: number; min?: number; max?: number; multiple?: number },
): Variant {
  let n = options.first;
  const multiple = options.multiple ?? 1;
  return {
    key,
    async warm() {
      const ms = await go(options.first);
      const rate = options.first / (ms / 1000);
      const want = Math.min(options.max ?? 1e9, Math.max(options.min ?? 1000, rate * options.seconds));
      n = Math.max(multiple, Math.round(want / multiple) * multiple);
    },
    async run() {
      const ms = await go(n);
      return { rate: n / (ms / 1000), n };
    },
  };
}

export function get(results: Results, key: string, name = "rate"): Spread {
  return spread(results.get(key)?.get(name) ?? []);
}

/** Run-by-run ratio a/b of one figure. */
export function ratio(results: Results, a: string, b: string, name = "rate", nameB = name): Spread {
  const xs = results.get(a)?.get(name) ?? [];
  const ys = results.get(b)?.get(nameB) ?? [];
  return spread(xs.map((x, i) => x / (ys[i] ?? Number.NaN)));
}

function debug(line: string): void {
  if (process.env.BENCH_DEBUG) process.stderr.write(`\n  ${line}`);
}
