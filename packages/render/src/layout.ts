/**
 * Traces and the checker's report to a layout model: one lane per traced peer, one time column per
 * final timestamp, every delivery at its column, every local step (send, destroy, release, expire)
 * between the lane's deliveries it came between, and an arrow from each creating step to each
 * delivery of its event. Beside it, the delivery-order view: each lane's deliveries evenly spaced
 * in the peer's own order, joined across lanes by event. Pure: no Node APIs, so it runs anywhere
 * a string can be written.
 */
import type { CheckReport } from "@capbus/checker";
import type { TraceDeliverRecord, TraceRecord, TraceTimestamp } from "@capbus/trace";
import type {
  Arrow,
  Column,
  DeliveryMark,
  Lane,
  Layout,
  LayoutOptions,
  OrderLine,
  StepKind,
  StepMark,
  ViolationNote,
} from "./model.js";
import { type LaneItem, place } from "./place.js";
import { compareTs, formatTs, shortId } from "./text.js";
import { violationIndex } from "./violations.js";

/** Lane colours: no red (violations), orange or gold (notifications) among them. */
const PALETTE = [
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#8c564b",
  "#17becf",
  "#393b79",
  "#637939",
  "#7f7f7f",
  "#3b8686",
  "#843c39",
];

const UNKNOWN = "#999999";

type Creating = Extract<TraceRecord, { op: "send" | "destroy" | "release" }>;

/** Lays out one run. `traces`: every peer's records in its order; `report`: checkTraces of them. */
export function layoutRun(
  traces: ReadonlyMap<string, readonly TraceRecord[]>,
  report: CheckReport,
  options: LayoutOptions = {},
): Layout {
  const col = options.columnWidth ?? 30;
  const laneGap = options.laneGap ?? 90;
  const plotX = options.labelWidth ?? 150;
  const axisY = 140;
  const firstLaneY = axisY + 45;

  const names = peerNames(traces);
  const peers = sortPeers([...traces.keys()], names);
  // Tooltips name a peer by its name when it has one; labels cut it to fit the label column.
  const who = (peer: string) => names.get(peer) ?? shortId(peer);
  const origins = new Map<string, Creating>();
  const aborted = new Set<string>();
  const nodeSet = new Set<string>();
  for (const records of traces.values()) {
    for (const r of records) {
      if (r.op === "send" || r.op === "destroy" || r.op === "release") {
        if (!origins.has(r.event)) origins.set(r.event, r);
        for (const n of r.op === "release" ? [r.node] : r.nodes) nodeSet.add(n);
      } else if (r.op === "abort") aborted.add(r.event);
      else if (r.op === "deliver" || r.op === "import") nodeSet.add(r.node);
    }
  }
  const nodes = [...nodeSet].sort();
  const nodeIx = new Map(nodes.map((n, i) => [n, i]));

  // One column per (event, final ts): one per event unless a trace contradicts itself.
  const columnKey = (d: TraceDeliverRecord) => `${d.event}\u0000${JSON.stringify(d.ts)}`;
  const byKey = new Map<string, { ts: TraceTimestamp; event: string }>();
  for (const records of traces.values()) {
    for (const r of records) if (r.op === "deliver") byKey.set(columnKey(r), { ts: r.ts, event: r.event });
  }
  const sorted = [...byKey.entries()].sort(
    ([, a], [, b]) => compareTs(a.ts, b.ts) || (a.event < b.event ? -1 : a.event > b.event ? 1 : 0),
  );
  const columnOf = new Map(sorted.map(([k], i) => [k, i]));
  // The first column of each event: its creating step goes left of it.
  const eventColumn = new Map<string, number>();
  sorted.forEach(([, c], i) => {
    if (!eventColumn.has(c.event)) eventColumn.set(c.event, i);
  });

  // Each lane's drawn records: deliveries and the local steps between them.
  const drawn = peers.map((peer) =>
    (traces.get(peer) ?? []).filter(
      (r) =>
        r.op === "deliver" ||
        r.op === "send" ||
        r.op === "destroy" ||
        r.op === "release" ||
        r.op === "expire",
    ),
  );
  const items: LaneItem[][] = drawn.map((records) =>
    records.map((r) =>
      r.op === "deliver"
        ? { kind: "delivery", column: columnOf.get(columnKey(r))! }
        : { kind: "step", column: "event" in r ? eventColumn.get(r.event) : undefined },
    ),
  );
  const placed = place(items, sorted.length, plotX + col, col, options.stepWidth ?? 14);
  const columns: Column[] = sorted.map(([, c], i) => ({ x: placed.columnX[i]!, ts: c.ts, event: c.event }));

  const flagged = violationIndex(report.violations);
  const colorOf = (peer: string) => PALETTE[peers.indexOf(peer) % PALETTE.length] ?? UNKNOWN;
  const lanes: Lane[] = [];
  const steps: StepMark[] = [];
  const deliveries: DeliveryMark[] = [];
  // The delivery-order view spreads every lane's deliveries over one width, each lane evenly in
  // its own order: the lines of an event two peers place alike then run about upright, and only
  // an inversion makes two of them cross. Places are per (event, ts), as columns are.
  const placeCounts = drawn.map(
    (records) =>
      new Set(records.flatMap((r) => (r.op === "deliver" ? [columnOf.get(columnKey(r))] : []))).size,
  );
  const orderSpan = col * Math.max(1, ...placeCounts);
  const orderX = (lane: number, place: number) =>
    plotX + col / 2 + (orderSpan * (place + 0.5)) / Math.max(1, placeCounts[lane]!);
  const stepOf = new Map<string, StepMark>();

  peers.forEach((peer, lane) => {
    const y = firstLaneY + lane * laneGap;
    const records = drawn[lane]!;
    const xs = placed.itemX[lane]!;
    let position = 0;
    // The delivery-order view: one place per (event, ts) the lane delivers, in the lane's order.
    const places = new Map<number, number>();
    // Several deliveries of one event at one peer (its nodes of a multicast or destroy) share a
    // column: stacked upwards, so each shows and gets its arrow.
    const stacked = new Map<number, number>();
    records.forEach((r, i) => {
      const x = xs[i]!;
      if (r.op !== "deliver") {
        const mark = stepMark(r, lane, x, y);
        if (mark === undefined) return;
        steps.push(mark);
        if (mark.event !== "" && !stepOf.has(mark.event)) stepOf.set(mark.event, mark);
        return;
      }
      const synthesized = !origins.has(r.event);
      const column = columnOf.get(columnKey(r))!;
      if (!places.has(column)) places.set(column, places.size);
      const below = stacked.get(x) ?? 0;
      stacked.set(x, below + 1);
      deliveries.push({
        lane,
        x,
        y: y - below * 14,
        event: r.event,
        kind: r.kind,
        node: nodeIx.get(r.node)!,
        ts: r.ts,
        position: ++position,
        orderX: orderX(lane, places.get(column)!),
        synthesized,
        violation: flagged.delivery(r.event, peer),
        color: synthesized ? UNKNOWN : colorOf(origins.get(r.event)!.peer),
        title:
          `${who(peer)} delivered ${r.kind} ${r.event} at node ${r.node}, ts ${formatTs(r.ts)}, its delivery #${position}` +
          (synthesized ? "; no record created it: a notification for a lost peer" : "") +
          payloadOf(origins.get(r.event)) +
          flagged.why(r.event),
      });
    });
    const all = traces.get(peer) ?? [];
    const name = names.get(peer);
    lanes.push({
      peer,
      name,
      label: name === undefined ? shortId(peer) : shortId(name, 18),
      y,
      x1: plotX + 4,
      x2: xs.reduce((max, x) => Math.max(max, x), plotX + col) + col * 0.6,
      orderX2: plotX + orderSpan + col * 0.6,
      crashed: all[all.length - 1]?.op !== "close",
      color: colorOf(peer),
      violation: flagged.peer(peer),
    });
  });

  function stepMark(r: TraceRecord, lane: number, x: number, y: number): StepMark | undefined {
    if (r.op === "expire") {
      return {
        lane,
        x,
        y,
        kind: "expire",
        event: "",
        nodes: [],
        aborted: false,
        violation: false,
        title: `${who(r.peer)}: the session to ${who(r.other)} expired (treated as crashed from here)`,
      };
    }
    if (r.op !== "send" && r.op !== "destroy" && r.op !== "release") return undefined;
    const kind: StepKind = r.op;
    const named = r.op === "release" ? [r.node] : r.nodes;
    const isAborted = aborted.has(r.event);
    const what =
      r.op === "send"
        ? `sent ${r.event} to ${r.nodes.join(", ")}${r.handles.length > 0 ? ` carrying ${r.handles.join(", ")}` : ""}`
        : r.op === "destroy"
          ? `destroyed ${r.nodes.join(", ")} (${r.event})`
          : `released ${r.node} (${r.event})`;
    return {
      lane,
      x,
      y,
      kind,
      event: r.event,
      nodes: named.map((n) => nodeIx.get(n)!),
      aborted: isAborted,
      violation: flagged.event(r.event),
      title: `${who(r.peer)} ${what}${isAborted ? "; aborted" : ""}${payloadOf(r)}${flagged.why(r.event)}`,
    };
  }

  const arrows: Arrow[] = [];
  for (const d of deliveries) {
    const from = stepOf.get(d.event);
    if (from === undefined) continue;
    arrows.push({
      from: from.lane,
      to: d.lane,
      x1: from.x,
      y1: from.y,
      x2: d.x,
      y2: d.y,
      event: d.event,
      kind: d.kind,
      node: d.node,
      violation: d.violation,
      color: lanes[from.lane]!.color,
    });
  }

  const orderLines = joinByEvent(deliveries);

  const violations: ViolationNote[] = report.violations.map((v) => ({
    property: v.property,
    message: v.message,
    events: v.events,
    peers: v.peers,
  }));
  const violationCount = Object.values(report.violationCounts).reduce((a, b) => a + b, 0);
  const maxX = Math.max(placed.end, ...lanes.map((l) => l.x2));
  const events = new Set([...origins.keys(), ...deliveries.map((d) => d.event)]).size;
  const summary =
    `${peers.length} peers, ${events} events, ${deliveries.length} deliveries, ` +
    (violationCount === 0 ? "no violation" : `${violationCount} violation${violationCount === 1 ? "" : "s"}`);
  return {
    title: options.title ?? "capbus run",
    width: Math.ceil(maxX + col * 2),
    height: Math.ceil(firstLaneY + Math.max(0, peers.length - 1) * laneGap + 60),
    axisY,
    plotX,
    lanes,
    columns,
    nodes,
    steps,
    deliveries,
    arrows,
    orderLines,
    orderWidth: Math.ceil(Math.max(plotX + col, ...lanes.map((l) => l.orderX2)) + col * 2),
    violations,
    violationCount,
    summary,
  };
}

/** The `name` of each peer's `start` record, for the peers that have one. */
function peerNames(traces: ReadonlyMap<string, readonly TraceRecord[]>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [peer, records] of traces) {
    const first = records[0];
    if (first?.op === "start" && first.name !== undefined) names.set(peer, first.name);
  }
  return names;
}

/** Named peers first, by name (then id: names need not be unique), then the others by id. */
function sortPeers(peers: string[], names: ReadonlyMap<string, string>): string[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return peers.sort((a, b) => {
    const [na, nb] = [names.get(a), names.get(b)];
    if (na !== undefined && nb !== undefined) return cmp(na, nb) || cmp(a, b);
    if (na !== undefined || nb !== undefined) return na !== undefined ? -1 : 1;
    return cmp(a, b);
  });
}

/** "; payload ..." for a send that recorded a summary (spec/trace.md §3.2), else "". */
function payloadOf(r: Creating | undefined): string {
  return r?.op === "send" && r.summary !== undefined ? `; payload ${r.summary}` : "";
}

/**
 * The delivery-order view's lines: for each event, from its first delivery on one lane to its
 * first delivery on the next lane down that delivers it.
 */
function joinByEvent(deliveries: readonly DeliveryMark[]): OrderLine[] {
  // Deliveries come lane by lane, each lane in its order: the first seen per lane is the first.
  const firsts = new Map<string, DeliveryMark[]>();
  for (const d of deliveries) {
    const list = firsts.get(d.event) ?? [];
    firsts.set(d.event, list);
    if (list[list.length - 1]?.lane !== d.lane) list.push(d);
  }
  const lines: OrderLine[] = [];
  for (const [event, marks] of firsts) {
    for (let i = 1; i < marks.length; i++) {
      const [a, b] = [marks[i - 1]!, marks[i]!];
      lines.push({
        event,
        from: a.lane,
        to: b.lane,
        x1: a.orderX,
        y1: a.y,
        x2: b.orderX,
        y2: b.y,
        nodes: [a.node, b.node],
        violation: a.violation && b.violation,
        color: a.color,
      });
    }
  }
  return lines;
}
