/**
 * The victim's timeouts. `default` is `startPeer`'s own (stage timeout 70 s). `short` scales
 * the time-bound attacks down so a run of seconds shows what minutes show with the defaults:
 * dead-link 2 s, grace 2 s, dial 2 s, answer timeout 5 s (T6: 1.25 × (dead-link + grace)), stage
 * timeout 12 s (T2: 1.25 × (max(dial, answer) + 0.8 × answer) = 11.25 s), stall threshold 3 s.
 */
import type { StartOptions } from "@capbus/node";

export type Profile = "default" | "short";

export function profileOptions(profile: Profile): StartOptions {
  if (profile === "default") return {};
  return {
    liveness: { heartbeatMs: 500, deadAfterMs: 2_000 },
    linkSession: { graceMs: 2_000 },
    dialTimeoutMs: 2_000,
    answerTimeoutMs: 5_000,
    stageTimeoutMs: 12_000,
    stallMs: 3_000,
  };
}
