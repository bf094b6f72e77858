/**
 * The victim's timeouts. `default` is `startPeer`'s own (stage timeout 70 s). `short` scales
 * the time-bound attacks down so a run of seconds shows what minutes show with the defaults:
 * dead-link 2 s, grace 2 s, dial 2 s, stage timeout 8 s (rule T2 of spec/limits.md §3.1 holds).
 */
import type { StartOptions } from "@capbus/node";

export type Profile = "default" | "short";

export function profileOptions(profile: Profile): StartOptions {
  if (profile === "default") return {};
  return {
    liveness: { heartbeatMs: 500, deadAfterMs: 2_000 },
    linkSession: { graceMs: 2_000 },
    dialTimeoutMs: 2_000,
    stageTimeoutMs: 8_000,
  };
}
