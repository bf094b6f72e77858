/**
 * Clock and queue attacks (issue 17, finding 2) by a peer that holds no capability: `destroy`
 * frames of its own nodes (anyone owns nodes) carrying clock values chosen against the victim's.
 * Values start from the victim's own clock, read from its first answer: the victim runs a hybrid
 * logical clock (wall ms × 2^11, spec/ordering.md §2), so values counted up from 0 would all lie
 * below it and test nothing.
 */
import { type AttackContext, count, pause } from "./context.js";
import { RawSession, sleep } from "./raw-session.js";

/** Clock values per millisecond of the victim's hybrid clock (H1). */
const TICK = 2 ** 11;
const JUMP = 2 ** 32;
const LIMIT = Number.MAX_SAFE_INTEGER;
/** The victim's adopt and refuse offsets at the defaults (spec/ordering.md §2 H2). */
const ADOPT_MS = 5_000;
const REFUSE_MS = 35_000;

/** One destroy of node `node` at `clock`, aborted at once unless `keep`. */
function destroy(session: RawSession, clock: number, node = 1, keep = false): number {
  const event = session.nextEvent();
  session.send({ type: "destroy", event, clock, nodes: [node] });
  if (!keep) session.send({ type: "abort", event });
  return event;
}

/** The victim's clock now: its proposal for a destroy at clock 0 (answered from its own clock). */
async function victimClock(session: RawSession): Promise<number> {
  const event = destroy(session, 0);
  const answer = await Promise.race([session.answerTo(event), sleep(5_000).then(() => undefined)]);
  return answer && "lamport" in answer ? answer.lamport : session.clock;
}

/** How far `clock` is ahead of this host's wall clock (the victim's: same host), in ms. */
const aheadMs = (clock: number) => Math.round(clock / TICK - Date.now());

/**
 * From the victim's clock: a destroy just inside the adopt offset (version 2 applied it at once),
 * one between the offsets (held on the attacker's link, then applied), then two of +2^32 each,
 * the finding's pair (beyond the refuse offset: they close the attacker's own link). Then the
 * attacker waits out the run. The victim must refuse no honest peer and keep its clock.
 */
export async function clockPartition(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint);
  const base = await victimClock(session);
  ctx.figures.before = base;
  ctx.figures.beforeAheadMs = aheadMs(base);
  const values = [
    base + (ADOPT_MS - 500) * TICK,
    base + ((ADOPT_MS + REFUSE_MS) / 2) * TICK,
    base + JUMP,
    base + 2 * JUMP,
  ];
  for (const [i, clock] of values.entries()) {
    const event = destroy(session, clock);
    const answer = await Promise.race([
      session.answerTo(event),
      sleep(REFUSE_MS).then(() => undefined),
      ctx.stop.then(() => undefined),
    ]);
    ctx.figures[`answer${i + 1}`] = answer
      ? `${answer.type}${"lamport" in answer ? ` ${aheadMs(answer.lamport)} ms ahead` : ""}`
      : (session.closeText ?? "none");
    if (session.closed || ctx.stopped()) break;
  }
  await ctx.stop;
  ctx.figures.closed = session.closeText;
  session.close();
}

/** At most this many destroy+abort pairs a second (the machine is shared). */
const PAIRS_PER_SECOND = 20_000;

/**
 * Destroy+abort pairs at the largest value the victim may apply at once (its wall clock plus
 * just under the adopt offset, found from its first answer), up to PAIRS_PER_SECOND, every
 * 64th pair left undecided: a hybrid clock cannot be run to 2^53, but each applied value would
 * put the victim ~5 s ahead and each undecided destroy would block its queue. Reports how far
 * ahead of the wall clock the victim's proposals got.
 */
export async function clockExhaust(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint);
  const base = await victimClock(session);
  ctx.figures.before = base;
  const offset = base - Date.now() * TICK; // the victim's clock against this host's wall clock
  let pairs = 0;
  let node = 1;
  while (!ctx.stopped() && !session.closed) {
    const batchStart = performance.now();
    for (let i = 0; i < PAIRS_PER_SECOND / 100; i++) {
      const clock = Math.min(LIMIT, Date.now() * TICK + offset + (ADOPT_MS - 100) * TICK);
      destroy(session, clock, ++node, pairs % 64 === 0);
      pairs++;
    }
    await session.drain(256 * 1024);
    const spare = 10 - (performance.now() - batchStart);
    if (spare > 0) await pause(ctx, spare);
  }
  // The victim's last proposal tells where its clock is (frames still on their way count too).
  const reached = session.closed ? session.clock : await victimClock(session);
  count(ctx.figures, "pairs", pairs);
  ctx.figures.clockReached = reached;
  ctx.figures.reachedAheadMs = aheadMs(reached);
  ctx.figures.fractionOf2e53 = Number((reached / LIMIT).toFixed(4));
  ctx.figures.closed = session.closeText;
  session.close();
}

/** Unheld destroys a second (each a record at the victim until its commit or abort). */
const UNHELD_PER_SECOND = 2_000;

/**
 * Destroys of the attacker's own nodes, which the victim holds nothing of, each 4.5 s ahead of
 * the victim's clock (inside the adopt offset): half committed at that value, a quarter aborted,
 * a quarter never decided, until the victim refuses them (E_QUOTA, its share). Before the
 * unheld rule (spec/ordering.md §9.1) each was staged with its clock applied: the victim ran
 * 4.5 s ahead of its wall clock and the undecided ones blocked its queue.
 */
export async function destroyUnheld(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint);
  const base = await victimClock(session);
  ctx.figures.before = base;
  const offset = base - Date.now() * TICK;
  let node = 1;
  const answers: Promise<void>[] = [];
  while (!ctx.stopped() && !session.closed) {
    const batchStart = performance.now();
    for (let i = 0; i < UNHELD_PER_SECOND / 100; i++) {
      const clock = Date.now() * TICK + offset + 4_500 * TICK;
      const kind = node % 4;
      const event = destroy(session, clock, ++node, true);
      count(ctx.figures, "destroys");
      answers.push(
        session.answerTo(event).then((answer) => {
          count(ctx.figures, answer ? answer.type : "unanswered");
          if (answer?.type === "reject") count(ctx.figures, `reject ${answer.code}`);
          if (answer?.type !== "propose" || session.closed) return;
          // At the value sent, unless the victim proposed above it (a commit is at least every proposal).
          const lamport = Math.max(clock, answer.lamport);
          if (kind < 2) session.send({ type: "commit", event, lamport, dead: [] });
          else if (kind === 2) session.send({ type: "abort", event });
        }),
      );
    }
    await session.drain(256 * 1024);
    const spare = 10 - (performance.now() - batchStart);
    if (spare > 0) await pause(ctx, spare);
  }
  const last = session.closed ? session.clock : await victimClock(session);
  ctx.figures.lastProposalAheadMs = aheadMs(last);
  ctx.figures.closed = session.closeText;
  session.close();
  await Promise.race([Promise.all(answers), sleep(1_000)]);
}
