/**
 * What a peer may add to its trace for people (spec/trace.md §3, spec/trace.md §3.2): a name in its `start`
 * record and a short payload summary in each `send` record. Neither is read by any check.
 */

/** The largest `traceSummary`: a summary is a hint on hover, not a copy of the payload. */
export const MAX_TRACE_SUMMARY = 1024;

/** Checks `PeerOptions.name`: a non-empty string, or nothing. */
export function traceName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Checks `PeerOptions.traceSummary`: an integer from 1 to MAX_TRACE_SUMMARY, or nothing (off). */
export function traceSummaryLimit(max: number | undefined): number | undefined {
  if (max === undefined) return undefined;
  if (!Number.isInteger(max) || max < 1 || max > MAX_TRACE_SUMMARY) {
    throw new RangeError(`traceSummary must be an integer from 1 to ${MAX_TRACE_SUMMARY}, got ${max}`);
  }
  return max;
}

/**
 * The payload as compact JSON (a byte string as `<n bytes>`), cut to at most `max` characters
 * with a final `…` when cut. The walk stops once `max` is passed, so its cost is bounded by `max`
 * and the payload's nesting, whatever the payload's size.
 */
export function summarizePayload(payload: unknown, max: number): string {
  const out: string[] = [];
  let length = 0;
  const put = (text: string): void => {
    out.push(text);
    length += text.length;
  };
  const walk = (value: unknown): void => {
    if (length > max) return;
    if (typeof value === "string") {
      // Only the head can show: a megabyte string is not copied whole.
      put(JSON.stringify(value.length > max ? value.slice(0, max + 1) : value));
    } else if (typeof value === "number" || typeof value === "boolean") put(String(value));
    else if (value === null || typeof value !== "object") put("null");
    else if (value instanceof Uint8Array) put(`<${value.length} bytes>`);
    else if (Array.isArray(value)) {
      put("[");
      for (let i = 0; i < value.length && length <= max; i++) {
        if (i > 0) put(",");
        walk(value[i]);
      }
      put("]");
    } else {
      put("{");
      let first = true;
      for (const key in value) {
        if (length > max) break;
        if (!Object.hasOwn(value, key)) continue;
        if (!first) put(",");
        first = false;
        put(`${JSON.stringify(key.length > max ? key.slice(0, max + 1) : key)}:`);
        walk((value as Record<string, unknown>)[key]);
      }
      put("}");
    }
  };
  walk(payload);
  const text = out.join("");
  if (text.length <= max) return text;
  let cut = max - 1;
  // Never leave half of a surrogate pair before the ellipsis.
  const last = text.charCodeAt(cut - 1);
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}…`;
}
