/**
 * An index over all traces that the checks share: who sent each event, every delivery by peer and
 * by (event, node), node owners, and which peers count as crashed to each other.
 */
import type { TraceDeliverRecord, TraceRecord } from "@capbus/trace";
import type { Traces } from "./read.js";
import type { Collector, TraceCounts } from "./report.js";

type Op<K extends TraceRecord["op"]> = Extract<TraceRecord, { op: K }>;

/** The local step that created an event: a send, destroy or release record. */
export interface Origin {
  event: string;
  record: Op<"send"> | Op<"destroy"> | Op<"release">;
  peer: string;
  /** Index of the sender in `Model.peers` (its vector clock component). */
  peerIx: number;
  /** 1-based position of the step in the sender's trace: its own vector clock entry. */
  step: number;
  /** The sender's vector clock at the step, set by `computeClocks`. */
  vc?: Int32Array;
}

export interface Delivery {
  peer: string;
  record: TraceDeliverRecord;
  /** 1-based position of the step in the peer's trace. */
  step: number;
  /** Position among the peer's deliveries. */
  pos: number;
  /** First delivery of this event at this peer (a multicast may reach several of its nodes). */
  first: boolean;
}

/** A `link` or `expire` step of one peer about another, for the P4(a) excuse. */
export interface SessionMark {
  step: number;
  op: "expire" | "link";
}

/** How a destination settled a multicast whose sender's session ended (spec/trace.md §3). */
export type ReconcileOutcome = Op<"reconcile">["outcome"];

export interface Model {
  traces: Traces;
  peers: string[];
  peerIx: Map<string, number>;
  origins: Map<string, Origin>;
  /** Aborted event → the aborting peer. */
  aborts: Map<string, string>;
  deliveries: Map<string, Delivery[]>;
  byEventNode: Map<string, Delivery[]>;
  byEvent: Map<string, Delivery[]>;
  /** `key(peer, node)` → that peer's destroyed deliveries for the node, in its order. */
  destroyedAt: Map<string, Delivery[]>;
  /** Node → owner, inferred from sends, destroys and deliveries of messages and releases. */
  owners: Map<string, string>;
  /** `key(peer, other)` → the peer's `link` and `expire` steps naming `other`, in its order. */
  sessionMarks: Map<string, SessionMark[]>;
  /** `key(peer, event)` → the outcome of the peer's `reconcile` record for the event. */
  reconciles: Map<string, ReconcileOutcome>;
  counts: TraceCounts;
  /** Whether `peer` crashed: no trace, or one without `close`. */
  isCrashed(peer: string): boolean;
  /** Whether `b` is crashed as seen from `a`: untraced, no close, or a session expiry between them. */
  crashedTo(a: string, b: string): boolean;
}

export const key = (event: string, node: string): string => `${event}\u0000${node}`;

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list === undefined) map.set(k, [v]);
  else list.push(v);
}

export function buildModel(traces: Traces, out: Collector): Model {
  const peers = [...traces.keys()];
  const peerIx = new Map(peers.map((p, i) => [p, i]));
  const origins = new Map<string, Origin>();
  const aborts = new Map<string, string>();
  const deliveries = new Map<string, Delivery[]>();
  const byEventNode = new Map<string, Delivery[]>();
  const byEvent = new Map<string, Delivery[]>();
  const destroyedAt = new Map<string, Delivery[]>();
  const owners = new Map<string, string>();
  const sessionMarks = new Map<string, SessionMark[]>();
  const reconciles = new Map<string, ReconcileOutcome>();
  const severed = new Set<string>();
  const closed = new Set<string>();
  const counts: TraceCounts = {
    peers: peers.length,
    crashed: 0,
    records: 0,
    sends: 0,
    destroys: 0,
    releases: 0,
    aborts: 0,
    imports: 0,
    expires: 0,
    reconciles: 0,
    deliveries: 0,
    deliveriesByKind: { message: 0, destroyed: 0, released: 0 },
  };

  const own = (node: string, owner: string, event: string) => {
    const known = owners.get(node);
    if (known === undefined) owners.set(node, owner);
    else if (known !== owner) {
      out.violation(
        "consistency",
        `node ${node} has two owners, ${known} and ${owner}`,
        [event],
        [known, owner],
      );
    }
  };

  // One decision per event and peer (spec/trace.md §3): a second one contradicts the first.
  const reconcile = (r: Op<"reconcile">, peer: string) => {
    const k = key(peer, r.event);
    if (reconciles.has(k)) {
      out.violation("consistency", `${peer} settled ${r.event} by reconciliation twice`, [r.event], [peer]);
    } else reconciles.set(k, r.outcome);
  };

  for (const [peer, records] of traces) {
    const ix = peerIx.get(peer)!;
    const mine: Delivery[] = [];
    const seen = new Set<string>();
    deliveries.set(peer, mine);
    counts.records += records.length;
    records.forEach((r, i) => {
      const step = i + 1;
      switch (r.op) {
        case "close":
          closed.add(peer);
          break;
        case "send":
        case "destroy":
        case "release": {
          counts[r.op === "send" ? "sends" : r.op === "destroy" ? "destroys" : "releases"]++;
          const earlier = origins.get(r.event);
          if (earlier !== undefined) {
            out.violation("consistency", `event ${r.event} created twice`, [r.event], [earlier.peer, peer]);
            break;
          }
          origins.set(r.event, { event: r.event, record: r, peer, peerIx: ix, step });
          if (r.op === "send") {
            r.nodes.forEach((n, j) => {
              own(n, r.to[j]!, r.event);
            });
          }
          if (r.op === "destroy") for (const n of r.nodes) own(n, peer, r.event);
          break;
        }
        case "abort":
          counts.aborts++;
          aborts.set(r.event, peer);
          break;
        case "import":
          counts.imports++;
          break;
        case "expire":
          counts.expires++;
          severed.add(key(peer, r.other)).add(key(r.other, peer));
          push(sessionMarks, key(peer, r.other), { step, op: "expire" });
          break;
        case "link":
          push(sessionMarks, key(peer, r.other), { step, op: "link" });
          break;
        case "reconcile":
          counts.reconciles++;
          reconcile(r, peer);
          break;
        case "deliver": {
          counts.deliveries++;
          counts.deliveriesByKind[r.kind]++;
          const d: Delivery = { peer, record: r, step, pos: mine.length, first: !seen.has(r.event) };
          seen.add(r.event);
          mine.push(d);
          push(byEventNode, key(r.event, r.node), d);
          push(byEvent, r.event, d);
          if (r.kind === "destroyed") push(destroyedAt, key(peer, r.node), d);
          else own(r.node, peer, r.event);
          break;
        }
        case "start":
          break;
      }
    });
    if (!closed.has(peer)) counts.crashed++;
  }

  // An abort names a round of the aborting peer; anything else is a contradiction.
  for (const [event, peer] of aborts) {
    const o = origins.get(event);
    if (o === undefined || o.peer !== peer) {
      out.violation("consistency", `peer ${peer} aborted ${event}, which it did not send`, [event], [peer]);
    }
  }

  return {
    traces,
    peers,
    peerIx,
    origins,
    aborts,
    deliveries,
    byEventNode,
    byEvent,
    destroyedAt,
    owners,
    sessionMarks,
    reconciles,
    counts,
    isCrashed: (p) => !closed.has(p),
    crashedTo: (a, b) => !closed.has(b) || severed.has(key(a, b)),
  };
}
