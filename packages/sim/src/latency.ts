/** One-way latency profiles for simulated links. */
import type { Random } from "./random.js";

/** Uniform one-way latency in [min, max] virtual ms (integers give integer delays). */
export interface LatencyProfile {
  readonly min: number;
  readonly max: number;
}

/** Named latency profiles, in virtual ms: `fast` (a loopback), `normal` (a LAN), `slow` (a bad WAN). */
export const LATENCY_PRESETS = {
  fast: { min: 0, max: 2 },
  normal: { min: 1, max: 20 },
  slow: { min: 50, max: 300 },
} as const satisfies Record<string, LatencyProfile>;

/** The name of a latency preset. */
export type LatencyPreset = keyof typeof LATENCY_PRESETS;
/** A latency: a profile, or a preset's name. */
export type Latency = LatencyProfile | LatencyPreset;

/** A latency for both directions of a link, or one per direction (a→b and b→a, by argument order). */
export type LinkLatency = Latency | { readonly aToB?: Latency; readonly bToA?: Latency };

export function resolveLatency(latency: Latency): LatencyProfile {
  const p = typeof latency === "string" ? LATENCY_PRESETS[latency] : latency;
  if (p === undefined) throw new RangeError(`unknown latency preset ${String(latency)}`);
  if (!(Number.isFinite(p.min) && Number.isFinite(p.max) && p.min >= 0 && p.max >= p.min)) {
    throw new RangeError(`bad latency profile {min: ${p.min}, max: ${p.max}}`);
  }
  return p;
}

/** Splits a LinkLatency into its two directions; a direction it leaves out keeps its `current` profile. */
export function splitLatency(
  latency: LinkLatency | undefined,
  current: readonly [aToB: LatencyProfile, bToA: LatencyProfile],
): [aToB: LatencyProfile, bToA: LatencyProfile] {
  if (latency === undefined) return [current[0], current[1]];
  if (typeof latency === "string" || "min" in latency) {
    const p = resolveLatency(latency);
    return [p, p];
  }
  return [
    latency.aToB === undefined ? current[0] : resolveLatency(latency.aToB),
    latency.bToA === undefined ? current[1] : resolveLatency(latency.bToA),
  ];
}

export function sampleLatency(p: LatencyProfile, random: Random): number {
  if (Number.isInteger(p.min) && Number.isInteger(p.max)) return random.int(p.min, p.max);
  return p.min + random.next() * (p.max - p.min);
}
