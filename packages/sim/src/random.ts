/**
 * A small seeded PRNG (sfc32, seeded through splitmix32). Not cryptographic: it exists so a
 * simulated run is a pure function of its seed.
 */

/** Mixes a 32-bit state into a well-spread 32-bit output (splitmix32 finaliser). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** FNV-1a over UTF-16 code units: turns a fork label into 32 bits. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/**
 * A seeded random stream (sfc32): the same seed gives the same numbers; `fork(label)` gives independent
 * streams.
 */
export class Random {
  /** The 32-bit unsigned seed this stream started from. */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Random: seed must be a 32-bit unsigned integer, got ${seed}`);
    }
    this.seed = seed;
    // Distinct splitmix outputs keep sfc32 away from its weak all-zero-ish states.
    this.a = splitmix32(seed);
    this.b = splitmix32(this.a);
    this.c = splitmix32(this.b);
    this.d = 1;
    // sfc32 needs a few rounds before its output is well mixed.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [lo, hiInclusive]; both ends must be integers. */
  int(lo: number, hiInclusive: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hiInclusive) || hiInclusive < lo) {
      throw new RangeError(`Random.int: bad range [${lo}, ${hiInclusive}]`);
    }
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }

  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Random.pick: empty array");
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= bytes.length; i += 4) {
      const v = this.nextUint32();
      bytes[i] = v & 0xff;
      bytes[i + 1] = (v >>> 8) & 0xff;
      bytes[i + 2] = (v >>> 16) & 0xff;
      bytes[i + 3] = v >>> 24;
    }
    if (i < bytes.length) {
      let v = this.nextUint32();
      for (; i < bytes.length; i++, v >>>= 8) bytes[i] = v & 0xff;
    }
  }

  /**
   * An independent stream named `label`, derived from this stream's seed (not its current state),
   * so a named substream is the same however much the parent has been used. That keeps, say, one
   * link's latencies stable when traffic on another link changes.
   */
  fork(label: string): Random {
    return new Random(splitmix32(this.seed ^ hashLabel(label)));
  }
}
