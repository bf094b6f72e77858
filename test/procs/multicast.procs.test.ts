/**
 * One process multicasts to 8 others while one receiver destroys its node: the destroy lands
 * somewhere in the order among the multicasts, and every peer must agree where. Receivers other
 * than the destroyer deliver every message in send order; the destroyer delivers exactly the
 * messages whose round committed at it, all before its destroy; the sender is told once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { testKit } from "@capbus/testkit";
import type { DeliveryLine } from "./scripts/report.js";

const receiverScript = new URL("./scripts/mc-receiver.ts", import.meta.url);
const senderScript = new URL("./scripts/mc-sender.ts", import.meta.url);
const RECEIVERS = 8;
const COUNT = 20;
const DESTROYER = 3;

type Results = Array<Array<{ committed: boolean; code: string | null }>>;

test(`multicast to ${RECEIVERS} processes with a destroy racing it`, { timeout: 60_000 }, async (t) => {
  const kit = testKit(t);
  const receivers = await Promise.all(
    Array.from({ length: RECEIVERS }, (_, i) => kit.start(`R${i + 1}`, receiverScript)),
  );
  const sender = await kit.start("S", senderScript, {
    to: receivers.map((r) => r.urls.inbox),
    count: COUNT,
  });
  const destroyer = receivers[DESTROYER]!;
  // Both at once: the destroy and the multicasts race for a place in the order.
  sender.tell({ go: true });
  destroyer.tell({ destroy: true });

  const { results } = await sender.next<{ results: Results }>("results");
  await destroyer.next("destroyed");
  assert.equal(results.length, COUNT);

  const messagesAt = async (index: number, expected: number): Promise<DeliveryLine[]> => {
    const got: DeliveryLine[] = [];
    const receiver = receivers[index]!;
    while (got.filter((d) => d.kind === "message").length < expected) {
      got.push((await receiver.next<{ delivery: DeliveryLine }>("delivery")).delivery);
    }
    return got;
  };

  for (let r = 0; r < RECEIVERS; r++) {
    const committed = results.map((perSend) => perSend[r]!.committed);
    if (r !== DESTROYER) {
      assert.ok(committed.every(Boolean), `R${r + 1}: every multicast committed`);
      const got = await messagesAt(r, COUNT);
      assert.deepEqual(
        got.map((d) => (d.payload as { i: number }).i),
        Array.from({ length: COUNT }, (_, i) => i),
        `R${r + 1} delivered every message once, in send order`,
      );
      continue;
    }
    // The destroyer delivers a prefix of the multicasts, then its destroy, then nothing: the
    // destroy sits at one point of the order. A send refused at it (E_DESTROYED) is never in the
    // prefix; one it committed may still fall after the destroy (spec/ordering.md §9, v1 window).
    const got: DeliveryLine[] = [];
    while (!got.some((d) => d.kind === "destroyed")) {
      got.push((await destroyer.next<{ delivery: DeliveryLine }>("delivery")).delivery);
    }
    const delivered = got.filter((d) => d.kind === "message").map((d) => (d.payload as { i: number }).i);
    const prefix = delivered.length;
    assert.deepEqual(
      got.map((d) => (d.kind === "message" ? (d.payload as { i: number }).i : d.kind)),
      [...Array.from({ length: prefix }, (_, i) => i), "destroyed"],
      "the destroyer delivered a prefix of the multicasts, in order, then its destroy",
    );
    assert.equal(got.at(-1)?.reason, "destroyed");
    assert.ok(committed.slice(0, prefix).every(Boolean), "every delivered multicast was committed");
    for (const perSend of results.filter((perSend) => !perSend[r]!.committed)) {
      assert.equal(perSend[r]!.code, "E_DESTROYED");
    }
    t.diagnostic(`the destroy was ordered after ${prefix} of ${COUNT} multicasts`);
  }

  // The sender holds a handle to the destroyed node: told exactly once, as destroyed.
  const notice = (await sender.next<{ delivery: DeliveryLine }>("delivery")).delivery;
  assert.equal(notice.kind, "destroyed");
  assert.equal(notice.reason, "destroyed");
  assert.equal(notice.node, `${destroyer.peer}/1`);

  const report = await kit.check();
  assert.equal(report.counts.peers, RECEIVERS + 1);
  assert.equal(report.counts.crashed, 0);
  // Once every process has stopped: nothing was delivered at the destroyer after its destroy,
  // and the sender was told once (the kit stops the sender first, so the other receivers' closes
  // notify nobody).
  const atDestroyer = destroyer.lines.flatMap((l) => (l.delivery ? [l.delivery as DeliveryLine] : []));
  const destroyedAt = atDestroyer.findIndex((d) => d.kind === "destroyed");
  assert.ok(
    atDestroyer.slice(destroyedAt + 1).every((d) => d.kind !== "message"),
    "no message after the destroy",
  );
  for (const receiver of receivers.filter((r) => r !== destroyer)) {
    const messages = receiver.lines.filter(
      (l) => (l.delivery as DeliveryLine | undefined)?.kind === "message",
    );
    assert.equal(messages.length, COUNT, `${receiver.name} delivered each multicast once`);
  }
  const notices = sender.lines.filter((l) => (l.delivery as DeliveryLine | undefined)?.kind === "destroyed");
  assert.equal(notices.length, 1, "the sender was told of the destroy once");
});
