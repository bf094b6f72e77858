/** Small text helpers shared by the layout and the writers. */
import type { TraceTimestamp } from "@capbus/trace";

/** spec/trace.md §2: the number, then the peer id by UTF-16 code unit, then the seq. */
export function compareTs(a: TraceTimestamp, b: TraceTimestamp): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

/** Real peer ids are 52-character keys; labels keep the head, tooltips the whole id. */
export function shortId(id: string, max = 14): string {
  return id.length <= max ? id : `${id.slice(0, max - 4)}…`;
}

export function formatTs(ts: TraceTimestamp): string {
  return `(${ts[0]}, ${shortId(ts[1])}, ${ts[2]})`;
}

/** Escapes text for XML/HTML content and double-quoted attributes. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
