/**
 * The payload data model check (spec/wire.md §3) and the one thing cbor-x needs changed
 * to write it as the profile says: cbor-x writes integral numbers beyond 32 bits as float64, so
 * those go in as BigInt, which it writes as CBOR integers (major type 0 or 1, 8-byte argument).
 * The check walk also says whether a payload holds such a number, so the common payload is
 * neither walked again nor copied before cbor-x encodes it.
 */
import { WireError, WireErrorCode } from "./errors.js";
import { resolveLimits, type WireLimits } from "./limits.js";
import { isWellFormed } from "./text.js";

/** Beyond 32 bits cbor-x writes a number as float64 (it writes ints down to -2^32 as ints). */
function isWide(n: number): boolean {
  return (n > 0xffffffff || n < -0x100000000) && Number.isSafeInteger(n);
}

/** A safe integer that cbor-x would write as float64 becomes a BigInt; all else is unchanged. */
export function wideInt(n: number): number | bigint {
  return isWide(n) ? BigInt(n) : n;
}

function refuse(what: string): WireError {
  return new WireError(WireErrorCode.E_PAYLOAD, `payload holds ${what}`);
}

/**
 * Throws E_PAYLOAD unless `value` is in the payload data model with containers nested at most
 * `maxDepth` deep (a top-level container counts as `depth`). Returns true when it holds an
 * integer that needs widening (widenPayload) before cbor-x writes it.
 */
export function checkPayload(value: unknown, depth: number, maxDepth: number): boolean {
  switch (typeof value) {
    case "number":
      return isWide(value);
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
        // a decoder would rename this key, so it could not round-trip
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

/**
 * Copy of a checked payload with every integer beyond 32 bits as a BigInt; only for a payload
 * checkPayload found one in.
 */
export function widenPayload(value: unknown): unknown {
  if (typeof value === "number") return wideInt(value);
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(widenPayload);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = widenPayload((value as Record<string, unknown>)[key]);
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
