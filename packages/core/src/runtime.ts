/**
 * Everything that depends on the outside world, injected so the simulator controls it:
 * the core never calls Date.now, setTimeout or Math.random itself.
 */
export interface Runtime {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /**
   * Unix time in milliseconds, the physical part of the hybrid clock (spec/ordering.md §2 H1):
   * peers on different hosts compare it, so it must be the host's wall clock (`Date.now()`),
   * not a monotonic one that starts at process start. @default now(): right for simulations,
   * where every peer shares one virtual clock
   */
  wallNow?(): number;
  /** Run `fn` after `ms` milliseconds; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Fill `bytes` with random bytes. */
  randomBytes(bytes: Uint8Array): void;
  /**
   * Run `fn` once the current turn is over, after the promise callbacks it started (Node:
   * setImmediate). Answers are held until then, so a reply the application sends in the turn
   * carries them (spec/ordering.md §14, B7). @default queueMicrotask: answers held only while
   * the turn's synchronous code runs
   */
  defer?(fn: () => void): void;
}

/** A runtime on the host's real clock, timers and WebCrypto (Node, browsers). */
export const systemRuntime: Runtime = {
  now: () => performance.now(),
  // Date.now, not performance.now: the latter can stop while a host or tab sleeps (clocks.md).
  wallNow: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  randomBytes(bytes) {
    globalThis.crypto.getRandomValues(bytes);
  },
  // Browsers have no setImmediate: a microtask (their links flush at one too).
  defer: typeof setImmediate === "function" ? (fn) => void setImmediate(fn) : (fn) => queueMicrotask(fn),
};
