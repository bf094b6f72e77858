/**
 * What a peer adds to its trace for people (spec/trace.md §3, §3.2): its name in the `start`
 * record, and with `traceSummary` a cut payload summary in each `send` record. The checker's
 * reader accepts both from a file, and checks nothing about them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { checkTraces, readTraceDir } from "@capbus/checker";
import { Peer } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink, type TraceRecord, teeTraceSink } from "@capbus/trace";
import { FileTraceSink } from "@capbus/trace/node";

const dir = mkdtempSync(join(tmpdir(), "capbus-peer-trace-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A (named, summaries of 24 characters) sends each payload to B (neither), traced in memory and in files. */
async function run(payloads: readonly unknown[]): Promise<Map<string, TraceRecord[]>> {
  const memory = new MemoryTraceSink();
  const world = new SimWorld({
    seed: 3,
    traceFor: (id) => teeTraceSink(memory, new FileTraceSink(dir, id)),
  });
  const a = world.addPeer("A", { name: "A link-manager", traceSummary: 24 });
  const b = world.addPeer("B");
  world.link("A", "B");
  const to = world.give(b.createNode(), "A");
  for (const payload of payloads) void a.send(to, payload);
  await world.run();
  await world.close();
  return memory.byPeer;
}

const sends = (records: readonly TraceRecord[] | undefined) =>
  (records ?? []).flatMap((r) => (r.op === "send" ? [r] : []));

test("a peer's name goes in its start record; summaries of its sends are cut to traceSummary", async () => {
  const long = "x".repeat(5_000_000);
  const traces = await run([
    { kind: "link-added", link: "eth0" },
    { kind: "link-added", link: "a-much-longer-link-name" },
    new Uint8Array(1 << 20),
    long,
    ["ab", 1.5, true, null, { n: [] }],
    "😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
  ]);
  assert.deepEqual(traces.get("A")?.[0], { peer: "A", op: "start", name: "A link-manager" });
  assert.deepEqual(traces.get("B")?.[0], { peer: "B", op: "start" }, "no name: no field");
  assert.deepEqual(
    sends(traces.get("A")).map((s) => s.summary),
    [
      '{"kind":"link-added","l…',
      '{"kind":"link-added","l…',
      "<1048576 bytes>",
      `"${"x".repeat(22)}…`,
      '["ab",1.5,true,null,{"n…',
      // 24 code units would split the 12th pair: 11 pairs and the quote, then the ellipsis.
      `"${"😀".repeat(11)}…`,
    ],
  );
  for (const s of sends(traces.get("A"))) assert.ok(s.summary!.length <= 24);

  // The checker's reader takes both fields from files, keeps them, and the run checks clean.
  const read = readTraceDir(dir);
  assert.deepEqual(read.get("A")?.[0], { peer: "A", op: "start", name: "A link-manager" });
  assert.deepEqual(
    sends(read.get("A")).map((s) => s.summary),
    sends(traces.get("A")).map((s) => s.summary),
  );
  assert.equal(checkTraces(read).ok, true);
});

test("summaries are off by default: a send record has no summary field", async () => {
  const memory = new MemoryTraceSink();
  const world = new SimWorld({ seed: 4, traceFor: () => memory });
  const a = world.addPeer("A");
  const b = world.addPeer("B");
  world.link("A", "B");
  void a.send(world.give(b.createNode(), "A"), { secret: "not for trace files" });
  await world.run();
  await world.close();
  const [send] = sends(memory.byPeer.get("A"));
  assert.ok(send);
  assert.equal("summary" in send, false);
});

test("a bad name or traceSummary is refused when the peer is made", () => {
  for (const traceSummary of [0, -1, 1.5, Number.NaN, 1025]) {
    assert.throws(() => new Peer({ id: "P", traceSummary }), RangeError, `traceSummary ${traceSummary}`);
  }
  assert.throws(() => new Peer({ id: "P", name: "" }), TypeError);
  assert.throws(() => new Peer({ id: "P", name: 7 as unknown as string }), TypeError);
  assert.doesNotThrow(() => new Peer({ id: "P", name: "p", traceSummary: 1024 }).abort());
});
