/**
 * The ordering group: the scenario vectors of spec/vectors/scenarios that a peer can show over a
 * socket (its frames, and its deliveries through its trace), then a multi-peer run in which the
 * kit plays the other peers and the checker (spec/trace.md §4) judges the peer's order.
 *
 * A scenario is driven when its only calls are creating one node and granting it to scripted
 * peers (a claim of the test node here), and its clock values are not in the window where a
 * value waits for the wall clock (those need a clock that stands still). Values are moved to the
 * peer's wall clock: each `clock` and `lamport` gets `base` = (its wall clock + 2.5 s) × 2^11
 * added, so it dominates the wall clock for the scenario's few milliseconds and the numbers of
 * the file hold exactly. Scripted peer ids become key-derived ids in the same sorted order, and
 * `remoteClose` is a `close` frame with that code (the peer keeps a broken session for its grace,
 * the scenario runner's peer has none).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkTraces } from "@capbus/checker";
import type { TraceRecord } from "@capbus/trace";
import { deliveriesOf } from "./holder.js";
import { CheckFailure, Remote } from "./remote.js";
import type { Context } from "./run.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Step = { readonly [key: string]: Json };

interface Scenario {
  readonly name: string;
  readonly peer: string;
  readonly remotes: readonly string[];
  readonly steps: readonly Step[];
}

/** Clock values in (adopt limit, refuse limit] at wall clock 0 wait for the wall clock (H2). */
const ADOPT = 10_240_000;
const REFUSE = 71_680_000;
/** Claims take event numbers far from the scenarios' own. */
const CLAIM_EVENTS = 1_000_000;

export async function ordering(ctx: Context): Promise<void> {
  const dir = join(ctx.vectors, "scenarios");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const scenario = JSON.parse(readFileSync(join(dir, file), "utf8")) as Scenario;
    await ctx.check(`scenario ${file}`, () => {
      const why = undrivable(scenario);
      if (why !== undefined) return Promise.resolve(why);
      if (ctx.trace === undefined && scenario.steps.some((s) => s.expect === "delivered"))
        return Promise.resolve("needs the peer's trace (--trace)");
      return drive(ctx, scenario);
    });
  }
  await ctx.check(
    "multi-peer run: A's multicast before B's request caused by it (checked by the trace checker)",
    () => announcementBeforeRequest(ctx),
  );
}

function undrivable(scenario: Scenario): string | undefined {
  const calls = scenario.steps.filter((s) => s.call !== undefined).map((s) => String(s.call));
  const other = calls.find((c) => c !== "createNode" && c !== "grant");
  if (other !== undefined) return `calls the peer's API (${other})`;
  if (calls.filter((c) => c === "createNode").length !== 1) return "needs other than one node";
  let waits = false;
  walk(scenario.steps, (key, value) => {
    if (
      (key === "clock" || key === "lamport") &&
      typeof value === "number" &&
      value > ADOPT &&
      value <= REFUSE
    )
      waits = true;
  });
  return waits
    ? "needs a wall clock that stands still (values between the adopt and refuse limits)"
    : undefined;
}

function walk(value: Json | readonly Step[], visit: (key: string, value: Json) => void): void {
  if (Array.isArray(value)) for (const item of value) walk(item, visit);
  else if (value !== null && typeof value === "object")
    for (const [key, item] of Object.entries(value)) {
      visit(key, item as Json);
      walk(item as Json, visit);
    }
}

/** How a scenario's names and numbers read at the peer under test. */
class Translation {
  readonly ids = new Map<string, string>();
  readonly base: number;
  readonly #node: number;
  readonly #scenarioNode: number;
  readonly #peer: string;

  constructor(ctx: Context, scenario: Scenario, remotes: Map<string, Remote>, base: number) {
    this.base = base;
    this.#peer = scenario.peer;
    this.#node = ctx.target.node;
    const created = scenario.steps.find((s) => s.call === "createNode");
    this.#scenarioNode = Number(String(created?.expectNode ?? `${scenario.peer}/1`).split("/")[1]);
    this.ids.set(scenario.peer, ctx.target.id);
    for (const [name, remote] of remotes) this.ids.set(name, remote.id);
  }

  id(name: string): string {
    return this.ids.get(name) ?? name;
  }

  /** A node number of the peer under test: its test node, or one it surely does not own. */
  node(n: number): number {
    return n === this.#scenarioNode ? this.#node : this.#node + CLAIM_EVENTS + n;
  }

  nodeName(name: string): string {
    const [owner, n] = name.split("/");
    return owner === this.#peer
      ? `${this.id(owner)}/${this.node(Number(n))}`
      : `${this.id(owner ?? "")}/${n}`;
  }

  /** A frame of the file, as the peer under test sees it (or as it must send it). */
  frame(frame: { [key: string]: Json }): { [key: string]: Json } {
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(frame)) {
      if ((key === "clock" || key === "lamport") && typeof value === "number") out[key] = this.base + value;
      else if (key === "node" && typeof value === "number") out[key] = this.node(value);
      else if (key === "nodes" && Array.isArray(value)) out[key] = value.map((n) => this.node(Number(n)));
      else if ((key === "peer" || key === "holder") && typeof value === "string") out[key] = this.id(value);
      else if (key === "receivers" && Array.isArray(value)) out[key] = value.map((p) => this.id(String(p)));
      else if ((key === "handles" || key === "dead") && Array.isArray(value))
        out[key] = value.map((h) => this.ref(h));
      else out[key] = value;
    }
    return out;
  }

  ref(ref: Json): Json {
    if (ref === null || typeof ref !== "object" || Array.isArray(ref)) return ref;
    const owner = String(ref.owner);
    return {
      owner: this.id(owner),
      node: owner === this.#peer ? this.node(Number(ref.node)) : (ref.node ?? null),
    };
  }

  /** An expected delivery, as the trace shows it: the keys the file gives (payloads are not traced). */
  delivery(event: { [key: string]: Json }): { [key: string]: Json } {
    const out: { [key: string]: Json } = {};
    if (event.kind !== undefined) out.kind = event.kind;
    if (typeof event.node === "string") out.node = this.nodeName(event.node);
    if (Array.isArray(event.ts)) {
      const [lamport, sender, seq] = event.ts as [number, string, number];
      out.ts = [this.base + lamport, this.id(sender), seq];
    }
    return out;
  }
}

function bytesOf(value: Json): Json | Uint8Array {
  if (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    typeof value.$bytes === "string"
  )
    return Uint8Array.from(Buffer.from(value.$bytes, "hex"));
  if (Array.isArray(value)) return value.map((v) => bytesOf(v)) as Json;
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = bytesOf(v) as Json;
    return out;
  }
  return value;
}

/** Does `actual` have every key of `expected`, recursively (the scenario README's matching)? */
function matches(expected: Json, actual: unknown): boolean {
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matches(e, actual[i]))
    );
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(expected).every(
      ([k, v]) => k === "seq" || k === "ack" || matches(v, (actual as Record<string, unknown>)[k]),
    );
  }
  return expected === actual;
}

async function drive(ctx: Context, scenario: Scenario): Promise<void> {
  // Key-derived ids in the file's sorted order, so ties broken by sender id break alike.
  const made = await Promise.all(scenario.remotes.map(() => Remote.create(ctx.target)));
  made.sort((a, b) => (a.id < b.id ? -1 : 1));
  const names = [...scenario.remotes].sort();
  const remotes = new Map(names.map((name, i) => [name, made[i]!]));
  const claims = new Map<string, number>();
  const expected: ReturnType<Translation["delivery"]>[] = [];
  try {
    for (const remote of made) await remote.handshake();
    const t = new Translation(ctx, scenario, remotes, (Date.now() + ctx.target.skewMs + 2500) * 2048);
    const remoteOf = (name: Json | undefined) => {
      const remote = remotes.get(String(name));
      if (remote === undefined) throw new CheckFailure(`the scenario names no scripted peer ${String(name)}`);
      return remote;
    };
    for (const [i, step] of scenario.steps.entries()) {
      const at = `step ${i + 1}`;
      if (step.call === "grant") {
        const remote = remoteOf(step.holder);
        const n = (claims.get(remote.id) ?? 0) + 1;
        claims.set(remote.id, n);
        const answer = await remote.claim(undefined, CLAIM_EVENTS + n);
        if (answer.type !== "granted") throw new CheckFailure(`${at}: the claim was answered ${answer.type}`);
      } else if (step.from !== undefined) {
        const remote = remoteOf(step.from);
        const frame = bytesOf(t.frame(step.frame as { [key: string]: Json })) as Record<string, unknown>;
        const { seq, ack: _ack, ...body } = frame;
        remote.send(body as never, typeof seq === "number" ? seq + (claims.get(remote.id) ?? 0) : undefined);
      } else if (step.remoteClose !== undefined) {
        const remote = remoteOf(step.remoteClose);
        remote.conn.sendFrame({
          type: "close",
          seq: 0,
          ack: remote.received,
          code: String(step.code),
          reason: "scenario",
        });
        remote.cut();
      } else if (step.expect === "sent") {
        const remote = remoteOf(step.to);
        const want = bytesOf(t.frame(step.frame as { [key: string]: Json })) as Json;
        const got = await remote.conn.next(ctx.target.answerMs);
        if (got.kind !== "frame" || !matches(want, got.frame))
          throw new CheckFailure(
            `${at}: expected ${show(want)} to ${String(step.to)}, got ${got.kind === "frame" ? show(got.frame) : got.kind}`,
          );
        if (got.frame.seq > remote.received) remote.received = got.frame.seq;
      } else if (step.expect === "closed") {
        const remote = remoteOf(step.peer);
        const got = await remote.conn.next(ctx.target.answerMs, true);
        if (got.kind !== "end")
          throw new CheckFailure(`${at}: expected the link to ${String(step.peer)} closed, got ${got.kind}`);
      } else if (step.expect === "delivered") {
        expected.push(t.delivery(step.event as { [key: string]: Json }));
      } else if (step.expect === "nothing") {
        await nothing(made, at);
      }
    }
    await nothing(made, "at the end");
    await deliveredInOrder(ctx, new Set(made.map((r) => r.id)), expected);
  } finally {
    for (const remote of made) remote.end();
  }
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
}

/** No frame but acks is waiting from the peer on any link (after a short wait). */
async function nothing(remotes: readonly Remote[], at: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const remote of remotes) {
    let got: ReturnType<Remote["conn"]["drain"]>;
    try {
      got = remote.conn.drain();
    } catch {
      continue;
    }
    const extra = got.filter((g) => g.kind === "frame" && g.frame.type !== "ack");
    for (const item of got.filter((g) => g.kind === "end")) remote.conn.putBack(item);
    if (extra.length > 0)
      throw new CheckFailure(
        `${at}: unexpected ${extra.map((g) => (g.kind === "frame" ? show(g.frame) : g.kind)).join(", ")}`,
      );
  }
}

/** The peer's deliveries of events of `senders`, in its trace's order, are exactly `expected`. */
async function deliveredInOrder(
  ctx: Context,
  senders: ReadonlySet<string>,
  expected: readonly { [key: string]: Json }[],
): Promise<void> {
  const trace = ctx.trace;
  if (trace === undefined) return;
  const ours = (records: TraceRecord[]) =>
    records.flatMap((r) =>
      r.op === "deliver" && senders.has(r.ts[1]) ? [{ kind: r.kind, node: r.node, ts: r.ts }] : [],
    );
  const records = await trace.until(
    (rs) => ours(rs).length >= expected.length,
    expected.length > 0 ? ctx.target.answerMs : 50,
  );
  const got = ours(records);
  if (!matches(expected as Json, got))
    throw new CheckFailure(`the trace shows deliveries ${show(got)}, expected ${show(expected)}`);
}

/**
 * The demo's race (README "Why the order matters"), with the kit as A and B: A stages its
 * announcement at the peer (and at B, played by the kit); B delivers it at the final and sends
 * the peer a request, which reaches the peer before A's commit. The peer must accept the request
 * but hold it until A's commit, then deliver A's announcement first. The kit writes A's and B's
 * traces, and the checker judges all three (P1-P6).
 */
async function announcementBeforeRequest(ctx: Context): Promise<string | undefined> {
  if (ctx.trace === undefined) return "needs the peer's trace (--trace)";
  const trace = ctx.trace;
  const node = ctx.target.node;
  const [a, b] = await Promise.all([Remote.create(ctx.target), Remote.create(ctx.target)]);
  if (a === undefined || b === undefined) return undefined;
  try {
    await a.holding();
    await b.holding();
    const announcement = a.nextEvent();
    const clock = a.clock();
    a.send({
      type: "stage",
      event: announcement,
      clock,
      nodes: [node],
      payload: "announcement",
      handles: [],
      receivers: [ctx.target.id, b.id],
    });
    const propose = await a.expectFrame("propose");
    if (propose.type !== "propose") return undefined;
    const final = Math.max(propose.lamport, clock + 1); // B's own proposal is clock + 1
    const request = b.nextEvent();
    b.send({ type: "unicast", event: request, clock: final, node, payload: "request" });
    const accept = await b.expectFrame("accept");
    if (accept.type !== "accept") return undefined;
    if (accept.lamport <= final)
      throw new CheckFailure(`B's request accepted at ${accept.lamport}, not above ${final}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (deliveriesOf(trace.records(), b.id, request).length > 0)
      throw new CheckFailure(
        "B's request was delivered before A's commit: it must wait behind A's staged announcement",
      );
    a.send({ type: "commit", event: announcement, lamport: final, dead: [] });
    const records = await trace.until(
      (rs) => deliveriesOf(rs, b.id, request).length > 0,
      ctx.target.answerMs,
    );
    const [first] = deliveriesOf(records, a.id, announcement);
    const [second] = deliveriesOf(records, b.id, request);
    if (first?.op !== "deliver" || second?.op !== "deliver")
      throw new CheckFailure("the trace lacks a delivery of A's announcement or B's request");
    if (records.indexOf(first) > records.indexOf(second))
      throw new CheckFailure("B's request was delivered before A's announcement");
    const report = checkTraces(played(ctx, records, a, b, first, second));
    if (!report.ok)
      throw new CheckFailure(
        `the checker: ${report.violations.map((v) => `${v.property} ${v.message}`).join("; ")}`,
      );
    return undefined;
  } finally {
    a.end();
    b.end();
  }
}

/** The traces of the peers the kit played, and the peer's own, for the checker. */
function played(
  ctx: Context,
  records: TraceRecord[],
  a: Remote,
  b: Remote,
  announcement: Extract<TraceRecord, { op: "deliver" }>,
  request: Extract<TraceRecord, { op: "deliver" }>,
): Map<string, TraceRecord[]> {
  const node = `${ctx.target.id}/${ctx.target.node}`;
  const inbox = `${b.id}/1`;
  const traceA: TraceRecord[] = [
    { peer: a.id, op: "start", name: "kit A" },
    { peer: a.id, op: "import", node },
    {
      peer: a.id,
      op: "send",
      event: announcement.event,
      to: [ctx.target.id, b.id],
      nodes: [node, inbox],
      handles: [],
    },
    { peer: a.id, op: "close" },
  ];
  const traceB: TraceRecord[] = [
    { peer: b.id, op: "start", name: "kit B" },
    { peer: b.id, op: "import", node },
    {
      peer: b.id,
      op: "deliver",
      event: announcement.event,
      kind: "message",
      node: inbox,
      ts: announcement.ts,
      handles: [],
      dead: [],
    },
    { peer: b.id, op: "send", event: request.event, to: [ctx.target.id], nodes: [node], handles: [] },
    { peer: b.id, op: "close" },
  ];
  return new Map([
    [a.id, traceA],
    [b.id, traceB],
    [ctx.target.id, records],
  ]);
}
