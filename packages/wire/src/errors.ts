/**
 * Errors the wire codec raises (spec/wire.md §9). A receiver closes the link with a close
 * frame carrying the code. Programs and tests compare `code`, never the message text.
 */
export const WireErrorCode = {
  /**
   * The bytes are not one well-formed CBOR item in the capbus profile (spec/wire.md §2):
   * truncated, trailing bytes after the item, reserved or indefinite-length heads, tags, simple
   * values other than false/true/null, invalid UTF-8, non-text or duplicate map keys.
   */
  E_CBOR: "E_CBOR",
  /**
   * Profile CBOR that is not a valid frame: not an array, wrong arity or field type, integers that
   * are negative, fractional or beyond 2^53-1, duplicate nodes, a `"__proto__"` map key. Also
   * raised by `encode` for a frame object that does not match its schema.
   */
  E_SCHEMA: "E_SCHEMA",
  /** The frame's first element is an unsigned integer that names no frame type of this version. */
  E_UNKNOWN_FRAME: "E_UNKNOWN_FRAME",
  /** A hello whose `versions` does not list a version this codec speaks (only 2, `WIRE_VERSION`). */
  E_VERSION: "E_VERSION",
  /** The frame exceeds a `WireLimits` bound: byte length (checked before decoding) or nesting depth. */
  E_TOO_LARGE: "E_TOO_LARGE",
  /**
   * `encode` only: the payload holds a value outside the payload data model (spec/wire.md
   * §Payload), such as `undefined`, a Map, a Date, a bigint or a lone surrogate in a string.
   */
  E_PAYLOAD: "E_PAYLOAD",
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

/**
 * A frame that breaks the wire format; `code` (a WireErrorCode, spec/wire.md §9) is what a link closes with.
 */
export class WireError extends Error {
  static override readonly name = "WireError";
  override readonly name = "WireError";
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
