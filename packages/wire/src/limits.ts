/**
 * Receive-side bounds for hostile peers (spec/wire.md §8). The same bounds apply to what a
 * codec encodes, so a peer never sends a frame its own kind would refuse.
 */
export interface WireLimits {
  /**
   * Largest frame in bytes. A longer frame is refused with E_TOO_LARGE before any decoding.
   * @default 16777216 (16 MiB)
   */
  readonly maxFrameBytes?: number;
  /**
   * Deepest nesting of arrays and maps, counting the frame array itself as depth 1 (so a
   * payload's top-level map is depth 2). Deeper frames are refused with E_TOO_LARGE on decode and
   * E_PAYLOAD on encode; the bound also keeps recursion far from the stack limit.
   * @default 64
   */
  readonly maxDepth?: number;
  /**
   * Largest decoded size of a frame, in bytes, as bounded by DECODED_COST (spec/wire.md §8). The
   * profile scan refuses a frame beyond it with E_TOO_LARGE before it is decoded (a 16 MiB frame
   * of empty maps decodes to about 1 GiB); the encoder refuses to build one. The default is the
   * most one sender's quota can ever hold at core's defaults (its reserve, 512 KiB, and half the
   * shared pool, 16 MiB: spec/limits.md §4), so a frame beyond it could never be accepted anyway;
   * raise it with the quota.
   * @default 17301504 (16.5 MiB)
   */
  readonly maxDecodedBytes?: number;
}

/** The largest encoded frame accepted by default: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The deepest payload nesting accepted by default. */
export const DEFAULT_MAX_DEPTH = 64;
/** The largest decoded frame accepted by default: one sender's most at core's default quota. */
export const DEFAULT_MAX_DECODED_BYTES = 16.5 * 1024 * 1024;

/** Limits with every default filled in. */
export interface ResolvedLimits {
  readonly maxFrameBytes: number;
  readonly maxDepth: number;
  readonly maxDecodedBytes: number;
}

/** Fills in defaults; a bound that is not a positive safe integer is a programming error. */
export function resolveLimits(limits: WireLimits | undefined): ResolvedLimits {
  const maxFrameBytes = limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxDecodedBytes = limits?.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
    throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) {
    throw new RangeError(`maxDepth must be a positive integer, got ${maxDepth}`);
  }
  if (!Number.isSafeInteger(maxDecodedBytes) || maxDecodedBytes < 1) {
    throw new RangeError(`maxDecodedBytes must be a positive integer, got ${maxDecodedBytes}`);
  }
  return { maxFrameBytes, maxDepth, maxDecodedBytes };
}
