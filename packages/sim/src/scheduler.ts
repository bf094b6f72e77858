/**
 * Virtual time: a seeded, single-threaded event loop that implements the core's Runtime.
 * Nothing happens until the caller drives it (step / runUntilIdle / runFor, or the async
 * run / settle / advance, which also let promise continuations run between tasks).
 */
import type { Runtime } from "@capbus/core";
import { macrotaskDrain, microtaskDrain } from "./drain.js";
import { type Task, TaskHeap } from "./heap.js";
import { Random } from "./random.js";

/** Thrown when a run exceeds its step budget: almost always a livelock (timers rescheduling forever). */
export class SimLivelockError extends Error {
  constructor(steps: number, now: number) {
    super(
      `simulation exceeded maxSteps=${steps} at virtual time ${now} ms: likely a livelock ` +
        "(tasks keep scheduling tasks); raise maxSteps if the run is legitimately long",
    );
    this.name = "SimLivelockError";
  }
}

/** Options of a SimScheduler. */
export interface SimSchedulerOptions {
  /** 32-bit unsigned seed for randomBytes. Default 0. */
  readonly seed?: number;
  /** Virtual time to start at, in ms. Default 0. */
  readonly startTime?: number;
  /**
   * Lets pending promise continuations run; awaited before the first and after every task by the
   * async drivers. Default: a MessageChannel round trip (drains every microtask, any chain depth),
   * or `microtaskDrain(32)` where MessageChannel is missing.
   */
  readonly drain?: () => Promise<void>;
  /**
   * Use `drainTurns` microtask turns instead of a macrotask boundary. Continuations more than this
   * many awaits deep then run "late" (after the next task); no host API is touched.
   */
  readonly drainTurns?: number;
}

/** When `run` stops, besides running out of tasks. */
export interface RunOptions {
  /** Stop (before the next task) once this returns true; checked after every microtask drain. */
  readonly until?: () => boolean;
  /** Throw SimLivelockError if more tasks than this would run. Default 1_000_000. */
  readonly maxSteps?: number;
  /** Run only tasks due within this many virtual ms from the start; the clock then ends there. */
  readonly maxTime?: number;
}

/** How a `run` went. */
export interface RunResult {
  /** Tasks run. */
  readonly steps: number;
  /** Why it stopped: no tasks left, `until()` held, or the `maxTime` window ended. */
  readonly reason: "idle" | "until" | "maxTime";
}

const DEFAULT_MAX_STEPS = 1_000_000;

/** Where deferred tasks' sequence numbers start: no run schedules 2^52 tasks. */
const LATE = 2 ** 52;

export class SimScheduler implements Runtime {
  private time: number;
  private seq = 0;
  /** Deferred tasks' own counter, above every task's: they sort after the rest of their instant. */
  private lateSeq = LATE;
  private readonly heap = new TaskHeap();
  private cancelledInHeap = 0;
  private readonly random: Random;
  private readonly drainFn: () => Promise<void>;

  constructor(options: SimSchedulerOptions = {}) {
    this.time = options.startTime ?? 0;
    this.random = new Random(options.seed ?? 0).fork("runtime");
    this.drainFn =
      options.drain ??
      (options.drainTurns === undefined ? macrotaskDrain() : undefined) ??
      microtaskDrain(options.drainTurns ?? 32);
  }

  // --- Runtime ---

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const task = this.at(this.time + checkDelay(ms), fn);
    return () => this.cancel(task);
  }

  randomBytes(bytes: Uint8Array): void {
    this.random.fill(bytes);
  }

  /**
   * The end of the turn: a task at this virtual time, after every other task of this instant
   * (frames that arrive together are one turn, as a transport reads them in one callback).
   */
  defer(fn: () => void): void {
    this.heap.push({ time: this.time, seq: this.lateSeq++, fn });
  }

  /**
   * A Runtime sharing this clock and timers but with its own named random stream, so one peer's
   * use of randomness does not shift another's. `wallOffsetMs`: its wall clock (`wallNow`, the
   * hybrid clock's physical part) reads the virtual time plus this, as a host whose clock is off.
   */
  runtime(label: string, wallOffsetMs = 0): Runtime {
    const random = this.random.fork(label);
    return {
      now: () => this.time,
      wallNow: () => this.time + wallOffsetMs,
      setTimer: (ms, fn) => this.setTimer(ms, fn),
      randomBytes: (bytes) => random.fill(bytes),
      defer: (fn) => this.defer(fn),
    };
  }

  // --- scheduling primitives (used by SimNetwork) ---

  /** Schedules `fn` at absolute virtual time `time` (clamped to now). */
  at(time: number, fn: () => void): Task {
    const task: Task = { time: Math.max(time, this.time), seq: this.seq++, fn };
    this.heap.push(task);
    return task;
  }

  /** Cancels a task; a no-op if it already ran or was cancelled. */
  cancel(task: Task): void {
    if (task.fn === undefined) return;
    task.fn = undefined;
    // Cancelled tasks stay in the heap until popped; shed them when they dominate (retry timers).
    if (++this.cancelledInHeap > 64 && this.cancelledInHeap * 2 > this.heap.size) {
      this.heap.removeWhere((t) => t.fn === undefined);
      this.cancelledInHeap = 0;
    }
  }

  /** Number of live (not cancelled) tasks waiting. */
  get pending(): number {
    return this.heap.size - this.cancelledInHeap;
  }

  /** Virtual time of the next live task, or undefined when idle. */
  nextTime(): number | undefined {
    return this.peekLive()?.time;
  }

  // --- synchronous drivers: no promise continuations run in between ---

  /** Runs the next task (advancing the clock to it). Returns false if there was none. */
  step(): boolean {
    const task = this.peekLive();
    if (task === undefined) return false;
    this.heap.pop();
    const fn = task.fn!;
    task.fn = undefined;
    this.time = task.time;
    fn();
    return true;
  }

  /** Runs tasks until none are left. Returns the number run. */
  runUntilIdle(options: { readonly maxSteps?: number } = {}): number {
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    let steps = 0;
    while (this.peekLive() !== undefined) {
      if (steps >= maxSteps) throw new SimLivelockError(maxSteps, this.time);
      this.step();
      steps++;
    }
    return steps;
  }

  /** Runs every task due within `ms` from now, then sets the clock to now + ms. Returns tasks run. */
  runFor(ms: number, options: { readonly maxSteps?: number } = {}): number {
    const deadline = this.time + checkDelay(ms);
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    let steps = 0;
    for (let next = this.peekLive(); next !== undefined && next.time <= deadline; next = this.peekLive()) {
      if (steps >= maxSteps) throw new SimLivelockError(maxSteps, this.time);
      this.step();
      steps++;
    }
    this.time = deadline;
    return steps;
  }

  // --- async drivers: for code that awaits promises ---

  /** Lets pending microtasks (promise continuations) run, without advancing virtual time. */
  drain(): Promise<void> {
    return this.drainFn();
  }

  /**
   * Drains microtasks, then repeatedly: check `until`, run one task, drain microtasks. So every
   * promise continuation triggered by a task runs at that task's virtual time, before the next task,
   * as on a real event loop. Stops when idle, when `until()` holds, or at the `maxTime` window end.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const { until } = options;
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    const deadline = options.maxTime === undefined ? undefined : this.time + checkDelay(options.maxTime);
    let steps = 0;
    await this.drainFn();
    for (;;) {
      if (until?.()) return { steps, reason: "until" };
      const next = this.peekLive();
      if (next === undefined) return { steps, reason: "idle" };
      if (deadline !== undefined && next.time > deadline) {
        this.time = deadline;
        return { steps, reason: "maxTime" };
      }
      if (steps >= maxSteps) throw new SimLivelockError(maxSteps, this.time);
      this.step();
      steps++;
      await this.drainFn();
    }
  }

  /** Runs (async) until no task is left. Returns the number of tasks run. */
  async settle(options: { readonly maxSteps?: number } = {}): Promise<number> {
    return (await this.run(options)).steps;
  }

  /** Async runFor: runs everything due within `ms`, then the clock reads now + ms even if idle early. */
  async advance(ms: number, options: { readonly maxSteps?: number } = {}): Promise<number> {
    const deadline = this.time + checkDelay(ms);
    const result = await this.run({ ...options, maxTime: ms });
    this.time = deadline;
    return result.steps;
  }

  private peekLive(): Task | undefined {
    for (let t = this.heap.peek(); t !== undefined; t = this.heap.peek()) {
      if (t.fn !== undefined) return t;
      this.heap.pop();
      this.cancelledInHeap--;
    }
    return undefined;
  }
}

function checkDelay(ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError(`SimScheduler: delay must be finite, got ${ms}`);
  return Math.max(0, ms);
}
