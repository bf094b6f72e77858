/**
 * Which marks the checker's violations name. The checks are the checker's own (its report is the
 * input); this only maps each violation's events and peers onto deliveries, steps and lanes.
 */
import type { Violation } from "@capbus/checker";

export interface ViolationIndex {
  /** A delivery of `event` at `peer` is named: the violation names the event and the peer (or no peer). */
  delivery(event: string, peer: string): boolean;
  /** The event is named by some violation. */
  event(event: string): boolean;
  peer(peer: string): boolean;
  /** "; P1: ..." for each violation naming the event, for tooltips ("" if none). */
  why(event: string): string;
}

export function violationIndex(violations: readonly Violation[]): ViolationIndex {
  const byEvent = new Map<string, Violation[]>();
  const peers = new Set<string>();
  for (const v of violations) {
    for (const p of v.peers) peers.add(p);
    for (const e of v.events) {
      const list = byEvent.get(e) ?? [];
      byEvent.set(e, list);
      list.push(v);
    }
  }
  return {
    delivery: (event, peer) =>
      (byEvent.get(event) ?? []).some((v) => v.peers.length === 0 || v.peers.includes(peer)),
    event: (event) => byEvent.has(event),
    peer: (peer) => peers.has(peer),
    why: (event) => (byEvent.get(event) ?? []).map((v) => `; violation ${v.property}: ${v.message}`).join(""),
  };
}
