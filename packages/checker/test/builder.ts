/**
 * Hand-written traces for tests. Records go to each peer's trace in call order; the final
 * timestamp of an event is made up at its first delivery from one rising counter, so a trace
 * written in one global sequence gets timestamps that agree with it. A node's owner is the part of
 * its name before "/" (a test convention only; the checker does not rely on it).
 */

import { tracesFromRecords } from "@capbus/checker";
import type { TraceDeliverRecord, TraceRecord, TraceTimestamp } from "@capbus/trace";

type Kind = TraceDeliverRecord["kind"];

export class TraceBuilder {
  readonly records: TraceRecord[] = [];
  private readonly created = new Map<
    string,
    { sender: string; kind: Kind; handles: string[]; seq: number }
  >();
  private readonly finals = new Map<string, TraceTimestamp>();
  private readonly seqs = new Map<string, number>();
  private lamport = 0;
  /** Deliveries recorded so far. */
  deliveries = 0;

  start(...peers: string[]): this {
    for (const peer of peers) this.records.push({ peer, op: "start" });
    return this;
  }

  close(...peers: string[]): this {
    for (const peer of peers) this.records.push({ peer, op: "close" });
    return this;
  }

  send(peer: string, event: string, nodes: string[], handles: string[] = []): this {
    this.create(peer, event, "message", handles);
    this.records.push({ peer, op: "send", event, to: nodes.map(ownerOf), nodes, handles });
    return this;
  }

  destroy(peer: string, event: string, nodes: string[]): this {
    this.create(peer, event, "destroyed", []);
    this.records.push({ peer, op: "destroy", event, nodes });
    return this;
  }

  release(peer: string, event: string, node: string): this {
    this.create(peer, event, "released", []);
    this.records.push({ peer, op: "release", event, node });
    return this;
  }

  abort(peer: string, event: string): this {
    this.records.push({ peer, op: "abort", event });
    return this;
  }

  import(peer: string, node: string): this {
    this.records.push({ peer, op: "import", node });
    return this;
  }

  expire(peer: string, other: string): this {
    this.records.push({ peer, op: "expire", other });
    return this;
  }

  link(peer: string, other: string): this {
    this.records.push({ peer, op: "link", other });
    return this;
  }

  /** `peer` settled `event` of `from` by asking its other receivers (spec/trace.md §3). */
  reconcile(peer: string, event: string, from: string, outcome: "committed" | "dropped" | "fallback"): this {
    this.records.push({ peer, op: "reconcile", event, from, outcome });
    return this;
  }

  /** Delivers `event` at `node` of `peer`; unknown events need `kind` and `ts`. */
  deliver(
    peer: string,
    event: string,
    node: string,
    opts: { dead?: string[]; kind?: Kind; ts?: TraceTimestamp } = {},
  ): this {
    const c = this.created.get(event);
    const kind = opts.kind ?? c?.kind ?? "message";
    let ts = opts.ts ?? this.finals.get(event);
    if (ts === undefined) {
      ts = [++this.lamport, c?.sender ?? "?", c?.seq ?? 0];
      this.finals.set(event, ts);
    }
    const dead = opts.dead ?? [];
    const handles = (c?.handles ?? []).filter((h) => !dead.includes(h));
    this.records.push({ peer, op: "deliver", event, kind, node, ts, handles, dead });
    this.deliveries++;
    return this;
  }

  traces(): Map<string, TraceRecord[]> {
    return tracesFromRecords(this.records);
  }

  private create(sender: string, event: string, kind: Kind, handles: string[]) {
    const seq = (this.seqs.get(sender) ?? 0) + 1;
    this.seqs.set(sender, seq);
    this.created.set(event, { sender, kind, handles, seq });
  }
}

export const ownerOf = (node: string): string => node.split("/")[0]!;
