/**
 * Encode-side checks of the payload data model (spec/wire.md §Payload) and the integer widening
 * cbor-x needs: it writes integral numbers beyond 32 bits as float64, so those go in as BigInt,
 * which it writes as CBOR integers (major type 0 or 1 with an 8-byte argument).
 */
import { WireError, WireErrorCode } from "./errors.js";
import { resolveLimits, type WireLimits } from "./limits.js";
import { isWellFormed } from "./text.js";

/** A safe integer that cbor-x would write as float64 becomes a BigInt; all else is unchanged. */
export function wideInt(n: number): number | bigint {
  return (n > 0xffffffff || n < -0x100000000) && Number.isSafeInteger(n) ? BigInt(n) : n;
}

function refuse(what: string): WireError {
  return new WireError(WireErrorCode.E_PAYLOAD, `payload holds ${what}`);
}

/**
 * Throws E_PAYLOAD unless `value` is in the payload data model with containers nested at most
 * `maxDepth` deep (a top-level container counts as `depth`). Returns true when it holds an
 * integer that needs widening.
 */
export function checkPayload(value: unknown, depth: number, maxDepth: number): boolean {
  switch (typeof value) {
    case "number":
      return wideInt(value) !== value;
    case "boolean":
      return false;
    case "string":
      if (!isWellFormed(value)) throw refuse("a lone surrogate");
      return false;
    case "object": {
      if (value === null || value instanceof Uint8Array) return false;
      if (depth > maxDepth) throw refuse(`containers nested deeper than ${maxDepth}`);
      const proto: unknown = Object.getPrototypeOf(value);
      let wide = false;
      if (proto === Array.prototype) {
        const items = value as readonly unknown[];
        for (let i = 0; i < items.length; i++) {
          if (checkPayload(items[i], depth + 1, maxDepth)) wide = true;
        }
        return wide;
      }
      if (proto !== Object.prototype && proto !== null) {
        throw refuse(`a ${describe(value)} (only plain objects, arrays and Uint8Array)`);
      }
      const record = value as Readonly<Record<string, unknown>>;
      for (const key of Object.keys(record)) {
        // cbor-x renames this key on decode, so it could not round-trip
        if (key === "__proto__") throw refuse('the key "__proto__"');
        if (!isWellFormed(key)) throw refuse("a lone surrogate");
        if (checkPayload(record[key], depth + 1, maxDepth)) wide = true;
      }
      return wide;
    }
    default:
      // undefined (including array holes), bigint, symbol, function
      throw refuse(`a value of type ${typeof value}`);
  }
}

function describe(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? name : "non-plain object";
}

/** Copy of a checked payload with every integer beyond 32 bits as a BigInt. */
export function widenPayload(value: unknown): unknown {
  if (typeof value === "number") return wideInt(value);
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(widenPayload);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = widenPayload(item);
  return out;
}

/**
 * Throws WireError E_PAYLOAD unless `value` can be sent as a frame payload under `limits`; lets a
 * sender refuse a bad message before it starts a round.
 */
export function assertPayload(value: unknown, limits?: WireLimits): void {
  checkPayload(value, 2, resolveLimits(limits).maxDepth);
}

/**
 * assertPayload, telling also whether the payload fits a batch frame, whose payload list puts it
 * one level deeper (spec/wire.md §5.19): one nested to the very limit goes in a frame of its own.
 */
export function assertBatchable(value: unknown, limits?: WireLimits): boolean {
  const maxDepth = resolveLimits(limits).maxDepth;
  try {
    checkPayload(value, 3, maxDepth);
    return true;
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
    checkPayload(value, 2, maxDepth);
    return false;
  }
}
