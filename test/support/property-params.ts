/**
 * The random parameters of the ordering property test (test/ordering.property.test.ts), shared
 * with scripts/partials.ts, which runs the same workloads to count split multicasts by cause.
 */
import fc from "fast-check";
import type { WorkloadParams } from "./workload.js";

/** `crashes`: senders crash mid-round too (0 to 2 per run); without it runs draw as before. */
export function orderingParams(crashes: boolean): fc.Arbitrary<WorkloadParams> {
  return fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    peers: fc.integer({ min: 3, max: 10 }),
    operations: fc.integer({ min: 20, max: 300 }),
    losses: fc.integer({ min: 0, max: 2 }),
    ...(crashes ? { crashes: fc.integer({ min: 0, max: 2 }) } : {}),
  });
}

/** Bursty workloads: several sends per turn share batches, some aborted by their signal. */
export function burstyParams(crashes: boolean): fc.Arbitrary<WorkloadParams> {
  return fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    peers: fc.integer({ min: 3, max: 8 }),
    operations: fc.integer({ min: 10, max: 120 }),
    losses: fc.integer({ min: 0, max: 2 }),
    burst: fc.integer({ min: 2, max: 8 }),
    aborts: fc.constant(true),
    ...(crashes ? { crashes: fc.integer({ min: 0, max: 2 }) } : {}),
  });
}
