/**
 * A long synthetic run for the page's Chromium test: named peers multicasting thousands of
 * messages, each peer delivering in one global order (final timestamps rising with creation),
 * with two things planted far from the start: a P1 inversion (one peer delivers two concurrent
 * multicasts the other way round) and a node that receives only in a short stretch of the run.
 * Everything follows from the seed.
 */
import { Random } from "@capbus/sim";
import type { TraceRecord } from "@capbus/trace";

const ROLES = ["link-manager", "policy-daemon", "dhcp-client", "firewall", "resolver", "logger", "monitor"];

export interface BigRun {
  readonly traces: Map<string, TraceRecord[]>;
  /** Events created in all. */
  readonly events: number;
  /** The inverted pair: `q` delivers `second` before `first`; `p` the other way. */
  readonly inversion: { first: string; second: string; p: string; q: string };
  /** The node used only in a short stretch (events `from` to `to`). */
  readonly lateNode: string;
}

export function bigRun(seed: number, events: number): BigRun {
  const random = new Random(seed);
  const peers = ROLES.map((_, i) => `peer-${i}-${(seed * 7919 + i * 104729).toString(36)}`);
  const traces = new Map<string, TraceRecord[]>();
  const write = (r: TraceRecord) => traces.get(r.peer)!.push(r);
  peers.forEach((peer, i) => {
    traces.set(peer, []);
    write({ peer, op: "start", name: `${String.fromCharCode(65 + i)} ${ROLES[i]}` });
  });
  const nodeOf = (peer: string) => `${peer}/1`;
  const lateNode = `${peers[3]}/2`;
  for (const peer of peers) {
    for (const other of peers) if (other !== peer) write({ peer, op: "import", node: nodeOf(other) });
    if (peer !== peers[3]) write({ peer, op: "import", node: lateNode });
  }
  const seqs = new Map<string, number>();
  const pending = new Map<string, Array<{ event: string; node: string; ts: [number, string, number] }>>(
    peers.map((p) => [p, []]),
  );
  let lamport = 0;
  const send = (from: string, nodes: string[], swapAt?: string) => {
    const seq = (seqs.get(from) ?? 0) + 1;
    seqs.set(from, seq);
    const event = `${from}:${seq}`;
    const to = nodes.map((n) => n.slice(0, n.lastIndexOf("/")));
    write({ peer: from, op: "send", event, to, nodes, handles: [], summary: `{"n":${lamport + 1}}` });
    const ts: [number, string, number] = [++lamport, from, seq];
    nodes.forEach((node, i) => {
      const queue = pending.get(to[i]!)!;
      // The planted inversion: this one goes before the last queued one at `swapAt`.
      if (to[i] === swapAt) queue.splice(queue.length - 1, 0, { event, node, ts });
      else queue.push({ event, node, ts });
    });
    return event;
  };
  const flush = (peer: string) => {
    for (const d of pending.get(peer)!.splice(0)) {
      write({ peer, op: "deliver", kind: "message", handles: [], dead: [], ...d });
    }
  };
  const others = (from: string) => peers.filter((p) => p !== from);
  let inversion: BigRun["inversion"] | undefined;
  const lateFrom = Math.floor(events * 0.6);
  while (lamport < events) {
    if (inversion === undefined && lamport >= Math.floor(events * 0.9)) {
      // Two multicasts from different senders to the same two peers, neither caused by the other.
      const [r, s, p, q] = [peers[0]!, peers[1]!, peers[4]!, peers[6]!];
      for (const peer of [p, q]) flush(peer);
      const first = send(r, [nodeOf(p), nodeOf(q)]);
      const second = send(s, [nodeOf(p), nodeOf(q)], q);
      inversion = { first, second, p, q };
    }
    const from = random.pick(peers);
    const count = random.int(1, 3);
    const pool = others(from);
    const nodes: string[] = [];
    while (nodes.length < count) {
      const node = nodeOf(random.pick(pool));
      if (!nodes.includes(node)) nodes.push(node);
    }
    if (lamport >= lateFrom && lamport < lateFrom + 40 && from !== peers[3]) nodes[0] = lateNode;
    send(from, [...new Set(nodes)]);
    for (const peer of peers) if (random.chance(0.3)) flush(peer);
  }
  for (const peer of peers) flush(peer);
  // All close but the last: its lane ends as a crash.
  for (const peer of peers.slice(0, -1)) write({ peer, op: "close" });
  return { traces, events: lamport, inversion: inversion!, lateNode };
}
