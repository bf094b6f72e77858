/**
 * The resume group (spec/transports.md §4.2, spec/transports.md §4.1): a session whose link breaks goes on over a
 * new link; frames resent across the resume are dropped (nothing twice, P6), the peer resends
 * what the kit did not acknowledge, and a resume that acknowledges frames never sent is refused
 * with `close E_PROTOCOL` (spec/errors.md §3.1).
 */
import { deliveriesOf, expectDelivered } from "./holder.js";
import { CheckFailure, Remote } from "./remote.js";
import type { Context } from "./run.js";

export async function resume(ctx: Context): Promise<void> {
  const node = ctx.target.node;

  await ctx.check(
    "resume with duplicates: the peer resends what was not acknowledged, drops what it has",
    async () => {
      const remote = await Remote.create(ctx.target);
      try {
        await remote.holding(); // the kit's seq 1 (its claim)
        const before = remote.received; // the peer's frames so far (granted, and any endpoints)
        const first = remote.nextEvent();
        remote.send({
          type: "unicast",
          event: first,
          clock: remote.clock(),
          node,
          payload: "before the break",
        });
        const accepted = await remote.expectFrame("accept"); // the kit's seq 2
        remote.cut();
        // Resume acknowledging only what came before the accept: the peer must resend the accept.
        remote.received = before;
        const session = remote.session;
        const theirs = await remote.handshake({ session, ack: before });
        if (theirs.ack !== 2)
          throw new CheckFailure(`its resume hello acknowledges ${theirs.ack}, the kit sent 2`);
        const resent = await remote.expectFrame("accept");
        if (
          resent.seq !== accepted.seq ||
          (resent.type === "accept" && accepted.type === "accept" && resent.event !== accepted.event)
        )
          throw new CheckFailure(`resent seq ${resent.seq}, expected the accept at seq ${accepted.seq}`);
        // Duplicates of the kit's frames 1 and 2: dropped, no answer.
        for (const seq of [1, 2]) remote.conn.send(remote.sent.get(seq)!);
        const next = remote.nextEvent();
        const clock = remote.clock();
        remote.send({ type: "unicast", event: next, clock, node, payload: "after the resume" });
        const answer = await remote.expectFrame("accept");
        if (answer.type === "accept" && answer.event !== next)
          throw new CheckFailure(`answered event ${answer.event}: a duplicate was not dropped`);
        if (answer.type === "accept") await expectDelivered(ctx, remote.id, next, answer.lamport);
        const records = ctx.trace?.records() ?? [];
        if (ctx.trace && deliveriesOf(records, remote.id, first).length !== 1)
          throw new CheckFailure(
            `the event sent before the break was delivered ${deliveriesOf(records, remote.id, first).length} times`,
          );
      } finally {
        remote.end();
      }
    },
  );

  await ctx.check("resume with an ack above every seq the peer sent: close E_PROTOCOL", async () => {
    const remote = await Remote.create(ctx.target);
    try {
      await remote.holding();
      remote.cut();
      const session = remote.session;
      await remote.handshake({ session, ack: 99 }).catch((error: unknown) => {
        if (!(error instanceof CheckFailure)) throw error;
      });
      await remote.expectClose("E_PROTOCOL");
    } finally {
      remote.end();
    }
  });
}
