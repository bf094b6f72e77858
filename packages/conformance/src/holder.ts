/**
 * The holder and owner groups: the kit holds a handle to the peer's test node (claimed with its
 * capability URL, spec/bootstrap.md §2) and sends to it over both paths, unicast (spec/wire.md §5.7) and a
 * round (stage, propose, commit: spec/ordering.md §3); then the peer's checks as the node's owner:
 * who may send, which node, and releases (spec/errors.md §3).
 */
import type { TraceRecord } from "@capbus/trace";
import type { Frame } from "@capbus/wire";
import { CheckFailure, Remote } from "./remote.js";
import type { Context } from "./run.js";

/** The peer's deliveries of `sender`'s event (matched by its timestamp, spec/trace.md §2). */
export function deliveriesOf(records: readonly TraceRecord[], sender: string, event: number) {
  return records.filter((r) => r.op === "deliver" && r.ts[1] === sender && r.ts[2] === event);
}

/** Wait for the trace to show `sender`'s event delivered at the test node with final `lamport`. */
export async function expectDelivered(
  ctx: Context,
  sender: string,
  event: number,
  lamport: number,
): Promise<void> {
  const trace = ctx.trace;
  if (trace === undefined) return;
  const records = await trace.until((rs) => deliveriesOf(rs, sender, event).length > 0, ctx.target.answerMs);
  const found = deliveriesOf(records, sender, event);
  const node = `${ctx.target.id}/${ctx.target.node}`;
  if (found.length !== 1)
    throw new CheckFailure(`the trace shows ${found.length} deliveries of ${sender}:${event}, expected 1`);
  const [one] = found;
  if (one?.op !== "deliver") return;
  if (one.node !== node) throw new CheckFailure(`delivered at ${one.node}, expected ${node}`);
  if (one.ts[0] !== lamport) throw new CheckFailure(`delivered at ${one.ts[0]}, the final was ${lamport}`);
}

function field<T extends Frame["type"]>(frame: Frame, type: T): Extract<Frame, { type: T }> {
  if (frame.type !== type) throw new CheckFailure(`expected ${type}, got ${frame.type}`);
  return frame as Extract<Frame, { type: T }>;
}

export async function holder(ctx: Context): Promise<void> {
  const node = ctx.target.node;
  const withHolder = async (body: (remote: Remote) => Promise<void>) => {
    const remote = await Remote.create(ctx.target);
    try {
      await remote.holding();
      await body(remote);
    } finally {
      remote.end();
    }
  };

  await ctx.check("unicast: accepted above the sender's clock, delivered once at that final", () =>
    withHolder(async (remote) => {
      const clock = remote.clock();
      const event = remote.nextEvent();
      remote.send({ type: "unicast", event, clock, node, payload: { kit: "unicast" } });
      const accept = field(await remote.expectFrame("accept"), "accept");
      if (accept.event !== event) throw new CheckFailure(`accept names event ${accept.event}, sent ${event}`);
      if (accept.lamport <= clock)
        throw new CheckFailure(`accept at ${accept.lamport}, not above the clock ${clock}`);
      await expectDelivered(ctx, remote.id, event, accept.lamport);
    }),
  );

  await ctx.check("stage: proposed above the clock; commit at a higher final; delivered at the final", () =>
    withHolder(async (remote) => {
      const clock = remote.clock();
      const event = remote.nextEvent();
      remote.send({
        type: "stage",
        event,
        clock,
        nodes: [node],
        payload: "round",
        handles: [],
        receivers: [ctx.target.id],
      });
      const propose = field(await remote.expectFrame("propose"), "propose");
      if (propose.lamport <= clock)
        throw new CheckFailure(`proposal ${propose.lamport} not above the clock ${clock}`);
      const final = propose.lamport + 3;
      remote.send({ type: "commit", event, lamport: final, dead: [] });
      await expectDelivered(ctx, remote.id, event, final);
    }),
  );

  await ctx.check("stage then abort: never delivered; a later unicast is", () =>
    withHolder(async (remote) => {
      const aborted = remote.nextEvent();
      remote.send({
        type: "stage",
        event: aborted,
        clock: remote.clock(),
        nodes: [node],
        payload: 1,
        handles: [],
        receivers: [ctx.target.id],
      });
      await remote.expectFrame("propose");
      remote.send({ type: "abort", event: aborted });
      const event = remote.nextEvent();
      remote.send({ type: "unicast", event, clock: remote.clock(), node, payload: 2 });
      const accept = field(await remote.expectFrame("accept"), "accept");
      await expectDelivered(ctx, remote.id, event, accept.lamport);
      const records = ctx.trace?.records() ?? [];
      if (deliveriesOf(records, remote.id, aborted).length > 0)
        throw new CheckFailure("the aborted event was delivered");
    }),
  );
}

export async function owner(ctx: Context): Promise<void> {
  const node = ctx.target.node;
  const refused = async (remote: Remote, code: string, about?: number) => {
    const reject = field(await remote.expectFrame("reject"), "reject");
    if (reject.code !== code) throw new CheckFailure(`rejected with ${reject.code}, expected ${code}`);
    if (about !== undefined && reject.node !== undefined && reject.node !== about)
      throw new CheckFailure(`the reject names node ${reject.node}, expected ${about}`);
  };
  const session = async (hold: boolean, body: (remote: Remote) => Promise<void>) => {
    const remote = await Remote.create(ctx.target);
    try {
      if (hold) await remote.holding();
      else await remote.handshake();
      await body(remote);
    } finally {
      remote.end();
    }
  };

  await ctx.check("a claim with a wrong secret: reject E_NO_EXPORT", () =>
    session(false, async (remote) => {
      const answer = await remote.claim(crypto.getRandomValues(new Uint8Array(32)));
      if (answer.type !== "reject" || answer.code !== "E_NO_EXPORT")
        throw new CheckFailure(`answered ${answer.type}, expected reject E_NO_EXPORT`);
    }),
  );
  await ctx.check("a unicast from a peer holding no handle: reject E_NO_HANDLE", () =>
    session(false, async (remote) => {
      remote.send({ type: "unicast", event: remote.nextEvent(), clock: remote.clock(), node, payload: 0 });
      await refused(remote, "E_NO_HANDLE", node);
    }),
  );
  await ctx.check("a stage from a peer holding no handle: reject E_NO_HANDLE", () =>
    session(false, async (remote) => {
      remote.send({
        type: "stage",
        event: remote.nextEvent(),
        clock: remote.clock(),
        nodes: [node],
        payload: 0,
        handles: [],
        receivers: [ctx.target.id],
      });
      await refused(remote, "E_NO_HANDLE", node);
    }),
  );
  await ctx.check("a unicast to a node the peer does not own: reject E_NO_NODE", () =>
    session(true, async (remote) => {
      const missing = node + 1_000_003;
      remote.send({
        type: "unicast",
        event: remote.nextEvent(),
        clock: remote.clock(),
        node: missing,
        payload: 0,
      });
      await refused(remote, "E_NO_NODE", missing);
    }),
  );
  await ctx.check("two claims, one release: still a holder; the second release: E_NO_HANDLE after", () =>
    session(true, async (remote) => {
      await remote.claim();
      const release = () =>
        remote.send({
          type: "release",
          event: remote.nextEvent(),
          clock: remote.clock(),
          node,
          count: 1,
          holder: remote.id,
        });
      release();
      await remote.expectFrame("accept");
      remote.send({
        type: "unicast",
        event: remote.nextEvent(),
        clock: remote.clock(),
        node,
        payload: "still held",
      });
      await remote.expectFrame("accept");
      release();
      await remote.expectFrame("accept");
      remote.send({
        type: "unicast",
        event: remote.nextEvent(),
        clock: remote.clock(),
        node,
        payload: "released",
      });
      await refused(remote, "E_NO_HANDLE", node);
    }),
  );
}
