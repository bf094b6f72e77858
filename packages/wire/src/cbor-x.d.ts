/**
 * What cbor-x 1.6 exports and does but does not declare in its types (index.d.ts): the
 * REUSE_BUFFER_MODE flag of `Encoder.encode`, which returns cbor-x's whole current output slab
 * with the encoded bytes' bounds as `start` and `end`, instead of a subarray of it. The slab
 * is not rewritten after (only RESET_BUFFER_MODE would rewind it; test/cbor-x.test.ts checks).
 */
import "cbor-x";

declare module "cbor-x" {
  export const REUSE_BUFFER_MODE: number;
  /** cbor-x's output slab, the bytes of the last encode at [start, end). */
  export interface ReusedSlab extends Uint8Array {
    readonly start: number;
    readonly end: number;
  }
  interface Encoder {
    encode(value: unknown, encodeOptions: number): ReusedSlab;
  }
}
