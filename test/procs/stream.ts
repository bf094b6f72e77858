/** The seeded stream both processes agree on: message i carries i and a seeded value. */
export function streamValue(seed: number, i: number): number {
  // xorshift-style mix of (seed, i): cheap, and the same in both processes.
  let x = (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Lines a child prints on stdout: one JSON object each. */
export type ChildLine =
  | { readonly ready: string }
  | { readonly granted: true }
  | { readonly sent: number }
  | { readonly got: ReadonlyArray<readonly [number, number]> };
