/**
 * @capbus/sim: a deterministic, seeded simulated network on virtual time.
 *
 * Driving it: nothing runs until you drive the scheduler. For synchronous code use
 * `scheduler.runUntilIdle()` / `runFor(ms)` / `step()`. For code that awaits promises use
 * `await scheduler.run({ until?, maxTime?, maxSteps? })`, `await scheduler.settle()` or
 * `await scheduler.advance(ms)`: they drain microtasks before the first task and after every task,
 * so continuations run at the virtual time of the task that caused them.
 *
 * @module @capbus/sim
 */

export { macrotaskDrain, microtaskDrain } from "./drain.js";
export type { NetEvent, NetObserver } from "./events.js";
export type { Task } from "./heap.js";
export {
  LATENCY_PRESETS,
  type Latency,
  type LatencyPreset,
  type LatencyProfile,
  type LinkLatency,
} from "./latency.js";
export { type MidRoundCrash, MidRoundCrasher, type RoundPhase } from "./mid-round.js";
export { LINK_CUT, type LinkOptions, type SimLink, SimNetwork, type SimNetworkOptions } from "./network.js";
export { Random } from "./random.js";
export { formatReplay, type ReplayExtra, SEED_ENV, seedFromEnv, withReplay } from "./replay.js";
export {
  type RunOptions,
  type RunResult,
  SimLivelockError,
  SimScheduler,
  type SimSchedulerOptions,
} from "./scheduler.js";
export { ScriptedLink } from "./scripted-link.js";
export type { LinkStats, NetworkStats, TrafficCounters } from "./stats.js";
export { type SimPeerOptions, SimWorld, type SimWorldOptions } from "./world.js";
