/**
 * The payload data model check (spec/wire.md §Payload) for a sender to run before it starts a
 * round. The codec's writer (writer.ts) makes the same check as it writes a frame; a test holds
 * their refusals equal.
 */
import { WireError, WireErrorCode } from "./errors.js";
import { resolveLimits, type WireLimits } from "./limits.js";
import { isWellFormed } from "./text.js";

function refuse(what: string): WireError {
  return new WireError(WireErrorCode.E_PAYLOAD, `payload holds ${what}`);
}

/**
 * Throws E_PAYLOAD unless `value` is in the payload data model with containers nested at most
 * `maxDepth` deep (a top-level container counts as `depth`).
 */
function checkPayload(value: unknown, depth: number, maxDepth: number): void {
  switch (typeof value) {
    case "number":
    case "boolean":
      return;
    case "string":
      if (!isWellFormed(value)) throw refuse("a lone surrogate");
      return;
    case "object": {
      if (value === null || value instanceof Uint8Array) return;
      if (depth > maxDepth) throw refuse(`containers nested deeper than ${maxDepth}`);
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Array.prototype) {
        const items = value as readonly unknown[];
        for (let i = 0; i < items.length; i++) checkPayload(items[i], depth + 1, maxDepth);
        return;
      }
      if (proto !== Object.prototype && proto !== null) {
        throw refuse(`a ${describe(value)} (only plain objects, arrays and Uint8Array)`);
      }
      const record = value as Readonly<Record<string, unknown>>;
      for (const key of Object.keys(record)) {
        // cbor-x renames this key on decode, so it could not round-trip
        if (key === "__proto__") throw refuse('the key "__proto__"');
        if (!isWellFormed(key)) throw refuse("a lone surrogate");
        checkPayload(record[key], depth + 1, maxDepth);
      }
      return;
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
 * Throws WireError E_PAYLOAD unless `value` can be sent as a frame payload under `limits`; lets a
 * sender refuse a bad message before it starts a round.
 */
export function assertPayload(value: unknown, limits?: WireLimits): void {
  checkPayload(value, 2, resolveLimits(limits).maxDepth);
}
