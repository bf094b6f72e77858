/**
 * A per-send timeout (an AbortSignal) on the simulated network: it ends a send to an owner that
 * stopped answering (a stopped process, one that died within its grace period) with E_ABORTED
 * and the signal's reason, instead of waiting out the crash rules; the aborted message is
 * delivered nowhere, also once the owner comes back (spec/guarantees.md §4.6).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import { CapbusError, type Peer } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";

/** How a promise ended: its value, or the CapbusError it rejected with. */
function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: CapbusError }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => {
      if (error instanceof CapbusError) return { error };
      throw error;
    },
  );
}

test("a unicast with a signal to a stopped owner fails with E_ABORTED and the reason; never delivered", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 11, latency: { min: 1, max: 5 }, traceFor: () => traces });
  const [a, b] = ["A", "B"].map((id) => w.addPeer(id)) as [Peer, Peer];
  w.linkAll();
  const toB = w.give(b.createNode(), "A");
  w.network.pause("B"); // B stops (SIGSTOP): nothing it is sent is answered
  const controller = new AbortController();
  const sent = settled(a.send(toB, "lost in time", { signal: controller.signal }));
  await w.run({ maxTime: 1000 });
  const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
  controller.abort(timeout);
  const { error } = await sent;
  assert.equal(error?.code, "E_ABORTED");
  assert.equal(error?.cause, timeout, "the signal's reason is the cause");
  assert.match(error?.message ?? "", /due to timeout/);

  // B comes back: the aborted message is not delivered; a later send is.
  w.network.resume("B");
  const later = a.send(toB, "after");
  await w.run({ maxTime: 1000 });
  assert.equal((await later).ok, true);
  const got: unknown[] = [];
  for (let e = b.poll(); e; e = b.poll()) if (e.kind === "message") got.push(e.payload);
  assert.deepEqual(got, ["after"]);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("a send waiting for a dial to its owner ends when its signal aborts, not at the dial timeout", async () => {
  const w = new SimWorld({
    seed: 12,
    latency: { min: 1, max: 5 },
    dial: true,
    unreachable: new Set(["A"]),
    dialTimeoutMs: 60_000,
  });
  const [a, b, c] = ["A", "B", "C"].map((id) => w.addPeer(id)) as [Peer, Peer, Peer];
  w.link("A", "B");
  w.link("B", "C");
  const toA = w.give(a.createNode(), "B");
  const toC = w.give(c.createNode(), "B");
  await w.run({ maxTime: 50 }); // B learns where A listens, to hint it to C
  const passed = b.send(toC, "A's node", { handles: [toA] });
  await w.run({ maxTime: 100 });
  assert.equal((await passed).ok, true);
  const event = c.poll();
  assert.equal(event?.kind, "message");
  const handle = event?.kind === "message" ? event.handles[0] : undefined;
  assert.ok(handle);
  // C dials A (never answered, a 60 s dial timeout); its send waits for that link.
  const controller = new AbortController();
  const sent = settled(c.send(handle, 1, { signal: controller.signal }));
  await w.run({ maxTime: 1000 });
  controller.abort(new Error("gave up"));
  const { error } = await sent;
  assert.equal(error?.code, "E_ABORTED");
  assert.equal((error?.cause as Error | undefined)?.message, "gave up");
  for (const peer of [a, b, c]) peer.abort();
});
