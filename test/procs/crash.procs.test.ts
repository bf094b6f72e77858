/**
 * A peer killed with SIGKILL (trap 4, spec/guarantees.md §4.2, spec/guarantees.md §4.3): once its session expires,
 * the survivor gets exactly one `destroyed` (reason crash) for the handle it held to the dead
 * peer's node and a `released` (reason crash) for the reference the dead peer held to its own
 * node, and the order checker, which counts the dead peer as crashed, finds no violation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { testKit } from "@capbus/testkit";
import type { DeliveryLine } from "./scripts/report.js";

const crashPeer = new URL("./scripts/crash-peer.ts", import.meta.url);

test("a SIGKILLed peer: the survivor is told once, with reason crash, and the traces check", {
  timeout: 60_000,
}, async (t) => {
  const kit = testKit(t);
  const [a, b] = await Promise.all([kit.start("A", crashPeer), kit.start("B", crashPeer)]);
  a.tell({ other: b.urls.inbox });
  await a.next("linked");
  b.tell({ other: a.urls.inbox });
  await b.next("linked");

  b.kill();
  const seen: DeliveryLine[] = [];
  while (seen.length < 2) seen.push((await a.next<{ delivery: DeliveryLine }>("delivery")).delivery);
  // Ids name the survivor and the notification's own clock value (spec/ordering.md §7.1 L4).
  assert.deepEqual(seen.map((d) => `${d.kind}:${d.node}:${d.event.replace(/:\d+$/, ":<lamport>")}`).sort(), [
    `destroyed:${b.peer}/1:crash:${b.peer}:${b.peer}/1:${a.peer}:<lamport>`,
    `released:${a.peer}/1:crash:${b.peer}:${a.peer}/1:${a.peer}:<lamport>`,
  ]);
  const report = await kit.check();
  assert.equal(report.counts.crashed, 1);
  assert.ok(report.ok);
});
