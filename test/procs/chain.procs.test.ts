/**
 * A handle passed along a chain of four processes, P2 -> P3 -> P4, to P1's node, then used by P4
 * after P2 and P3 have exited: P4 dialled P1 itself when the handle arrived (direct links after
 * a transfer), so the message needs neither of the processes it came through.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { testKit } from "@capbus/testkit";
import type { DeliveryLine } from "./scripts/report.js";

const chainPeer = new URL("./scripts/chain-peer.ts", import.meta.url);

test("a handle passed along 4 processes is used directly after the middle ones exit", {
  timeout: 60_000,
}, async (t) => {
  const kit = testKit(t);
  const [p1, p4] = await Promise.all([kit.start("P1", chainPeer), kit.start("P4", chainPeer)]);
  const p3 = await kit.start("P3", chainPeer, { next: p4.urls.inbox });
  const p2 = await kit.start("P2", chainPeer, { source: p1.urls.inbox, next: p3.urls.inbox });
  p2.tell({ go: true });

  const ownerNode = `${p1.peer}/1`;
  assert.deepEqual((await p2.next("forwarded")).forwarded, { node: ownerNode, ok: true });
  assert.deepEqual((await p3.next("forwarded")).forwarded, { node: ownerNode, ok: true });
  assert.deepEqual((await p4.next("kept")).kept, { node: ownerNode, state: "live" });

  // The middle of the chain goes away, cleanly.
  assert.deepEqual(await p2.stop(), { code: 0, signal: null });
  assert.deepEqual(await p3.stop(), { code: 0, signal: null });

  p4.tell({ use: { hello: "from P4" } });
  assert.deepEqual((await p4.next("used")).used, { ok: true, codes: [null] });
  let got: DeliveryLine;
  do got = (await p1.next<{ delivery: DeliveryLine }>("delivery")).delivery;
  while (got.kind !== "message");
  assert.deepEqual(got.payload, { hello: "from P4" });
  assert.equal(got.from, p4.peer);

  const report = await kit.check();
  assert.equal(report.counts.peers, 4);
  assert.equal(report.counts.crashed, 0);
});
