/**
 * P1, total order, in its strong form: one order of all events agrees with every peer's delivery
 * order. That holds iff the graph joining consecutive first deliveries of each peer is acyclic; each
 * strongly connected component of more than one event is one violation.
 */
import type { Model } from "./model.js";
import type { Collector } from "./report.js";

export function checkTotalOrder(model: Model, out: Collector): void {
  const ids = new Map<string, number>();
  const names: string[] = [];
  const seqs = new Map<string, Int32Array>();
  const edgeFrom: number[] = [];
  const edgeTo: number[] = [];
  for (const [peer, list] of model.deliveries) {
    const seq: number[] = [];
    for (const d of list) {
      // A notification synthesized for a lost peer is no point of the global order (W4 of
      // guarantees.md): it is local to the survivor that delivers it.
      if (!d.first || !model.origins.has(d.record.event)) continue;
      let id = ids.get(d.record.event);
      if (id === undefined) {
        id = names.length;
        ids.set(d.record.event, id);
        names.push(d.record.event);
      }
      const prev = seq[seq.length - 1];
      if (prev !== undefined) {
        edgeFrom.push(prev);
        edgeTo.push(id);
      }
      seq.push(id);
    }
    seqs.set(peer, Int32Array.from(seq));
  }
  const comp = components(names.length, edgeFrom, edgeTo);

  // Members of each cyclic component, as each peer delivered them, gathered in one pass.
  const size = new Int32Array(names.length);
  for (const c of comp) size[c]!++;
  const cyclic = new Map<number, Map<string, number[]>>();
  for (const [peer, seq] of seqs) {
    for (const id of seq) {
      const c = comp[id]!;
      if (size[c]! < 2) continue;
      const byPeer = cyclic.get(c) ?? new Map<string, number[]>();
      cyclic.set(c, byPeer);
      const list = byPeer.get(peer) ?? [];
      byPeer.set(peer, list);
      list.push(id);
    }
  }
  for (const byPeer of cyclic.values()) {
    if (!out.wants("P1")) {
      out.violation("P1", "", [], []);
      continue;
    }
    const pair = conflictingPair(byPeer);
    if (pair !== undefined) {
      const [a, b, p, q] = pair;
      out.violation(
        "P1",
        `${p} delivered ${names[a]} before ${names[b]}, ${q} delivered them the other way round`,
        [names[a]!, names[b]!],
        [p, q],
      );
    } else {
      const members = [...new Set([...byPeer.values()].flat())].map((id) => names[id]!);
      out.violation(
        "P1",
        `no single order agrees with the peers' delivery orders of ${members.length} events (no two peers disagree on one pair)`,
        members.slice(0, 10),
        [...byPeer.keys()],
      );
    }
  }
}

/** Two peers delivering two common events in opposite orders, if any (bounded search). */
function conflictingPair(byPeer: Map<string, number[]>): [number, number, string, string] | undefined {
  const peers = [...byPeer.entries()].slice(0, 40);
  for (const [p, seqP] of peers) {
    for (const [q, seqQ] of peers) {
      if (p >= q) continue;
      const posQ = new Map(seqQ.map((id, i) => [id, i]));
      let maxPos = -1;
      let maxId = -1;
      for (const id of seqP) {
        const pos = posQ.get(id);
        if (pos === undefined) continue;
        if (pos < maxPos) return [maxId, id, p, q];
        maxPos = pos;
        maxId = id;
      }
    }
  }
  return undefined;
}

/** Tarjan's strongly connected components, iterative (deliveries may number in the 100,000s). */
function components(n: number, from: number[], to: number[]): Int32Array {
  const start = new Int32Array(n + 1);
  for (const f of from) start[f + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const adj = new Int32Array(from.length);
  const fill = start.slice(0, n);
  from.forEach((f, i) => {
    adj[fill[f]!++] = to[i]!;
  });

  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const call: number[] = [];
  const next = new Int32Array(n);
  let counter = 0;
  let comps = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    call.push(root);
    index[root] = low[root] = counter++;
    next[root] = start[root]!;
    stack.push(root);
    onStack[root] = 1;
    while (call.length > 0) {
      const v = call[call.length - 1]!;
      if (next[v]! < start[v + 1]!) {
        const w = adj[next[v]!++]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          next[w] = start[w]!;
          stack.push(w);
          onStack[w] = 1;
          call.push(w);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      call.pop();
      const parent = call[call.length - 1];
      if (parent !== undefined) low[parent] = Math.min(low[parent]!, low[v]!);
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = comps;
        } while (w !== v);
        comps++;
      }
    }
  }
  return comp;
}
