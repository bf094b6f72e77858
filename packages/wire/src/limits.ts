/**
 * Receive-side bounds for hostile peers (spec/wire.md §Limits). The same bounds apply to what a
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
}

/** The largest encoded frame accepted by default: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The deepest payload nesting accepted by default. */
export const DEFAULT_MAX_DEPTH = 64;

/** Limits with every default filled in. */
export interface ResolvedLimits {
  readonly maxFrameBytes: number;
  readonly maxDepth: number;
}

/** Fills in defaults; a bound that is not a positive safe integer is a programming error. */
export function resolveLimits(limits: WireLimits | undefined): ResolvedLimits {
  const maxFrameBytes = limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
    throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) {
    throw new RangeError(`maxDepth must be a positive integer, got ${maxDepth}`);
  }
  return { maxFrameBytes, maxDepth };
}
