/**
 * Everything that depends on the outside world, injected so the simulator controls it:
 * the core never calls Date.now, setTimeout or Math.random itself.
 */
export interface Runtime {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Run `fn` after `ms` milliseconds; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Fill `bytes` with random bytes. */
  randomBytes(bytes: Uint8Array): void;
}

/** A runtime on the host's real clock, timers and WebCrypto (Node, browsers). */
export const systemRuntime: Runtime = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  randomBytes(bytes) {
    globalThis.crypto.getRandomValues(bytes);
  },
};
