/** Observability (issue #10): Peer.stats() counters and the injectable logger, on simulated runs. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogFields, Logger, Peer } from "@capbus/core";
import { SimWorld } from "@capbus/sim";

interface Entry {
  readonly level: keyof Logger;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

/** A logger that keeps every entry, at every level. */
function recorder(): { readonly logger: Logger; readonly entries: Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      entries.push({ level, message, fields });
    };
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, entries };
}

function drain(peer: Peer): number {
  let n = 0;
  while (peer.poll()) n++;
  return n;
}

test("stats: N unicasts give exact event counts, matching frame and byte counts, an empty queue", async () => {
  const w = new SimWorld({ seed: 11, latency: { min: 1, max: 1 } });
  const a = w.addPeer("A");
  const b = w.addPeer("B");
  w.link("A", "B");
  const node = b.createNode();
  const handle = w.give(node, "A");
  await w.run();
  const N = 25;
  const sent = Array.from({ length: N }, (_, i) => a.send(handle, i));
  await w.run();
  for (const result of await Promise.all(sent)) assert.ok(result.ok);

  const sa = a.stats();
  const sb = b.stats();
  assert.equal(sa.events.sent, N);
  assert.equal(sa.events.undecided, 0);
  assert.equal(sb.events.delivered, N);
  assert.equal(sb.events.sent, 0);
  assert.deepEqual(sb.queue, { depth: 0, staged: 0, oldestStagedMs: 0, unread: N });
  assert.equal(sa.fast.count, N, "every unicast took the fast path");
  assert.equal(sa.rounds.count, 0);
  // One virtual ms each way: a unicast is accepted 2 ms after it is sent.
  assert.deepEqual(sa.fast, { count: N, p50: 2, p99: 2, max: 2 });
  assert.equal(sa.at, w.scheduler.now());

  const ab = sa.links.B;
  const ba = sb.links.A;
  assert.ok(ab && ba);
  assert.deepEqual(Object.keys(sa.links), ["B"], "a peer's link to itself is left out");
  // Sent in one turn: the first goes alone, the other N - 1 in one fast batch (spec/ordering.md §14).
  assert.ok(ab.framesOut >= 2 && ab.framesOut < N && ab.bytesOut > 0, `${ab.framesOut} frames`);
  assert.equal(ab.framesOut, ba.framesIn);
  assert.equal(ab.bytesOut, ba.bytesIn);
  assert.equal(ba.framesOut, ab.framesIn);
  assert.equal(ba.bytesOut, ab.bytesIn);
  for (const link of [ab, ba]) {
    assert.equal(link.live, true);
    assert.equal(link.resumes, 0);
    assert.equal(link.duplicates, 0);
    assert.equal(link.unackedBytes, 0, "everything acknowledged once the network is idle");
  }

  assert.equal(drain(b), N);
  assert.equal(b.stats().queue.unread, 0);
  assert.equal(JSON.parse(JSON.stringify(sa)).events.sent, N, "a snapshot is plain JSON data");
  await w.close();
});

test("stats: a multicast staged at a peer while another destination is paused ages in virtual time", async () => {
  const w = new SimWorld({ seed: 12, latency: { min: 1, max: 1 } });
  const s = w.addPeer("S");
  const a = w.addPeer("A");
  const b = w.addPeer("B");
  w.linkAll();
  const toA = w.give(a.createNode(), "S");
  const toB = w.give(b.createNode(), "S");
  await w.run();
  assert.deepEqual(a.stats().queue, { depth: 0, staged: 0, oldestStagedMs: 0, unread: 0 });

  w.network.pause("B");
  const start = w.scheduler.now();
  const sent = s.send([toA, toB], "both");
  // The stage reaches A 1 ms later; B's proposal never comes while it is paused.
  await w.scheduler.advance(1000);
  let q = a.stats().queue;
  assert.equal(q.staged, 1);
  assert.equal(q.depth, 1);
  assert.equal(q.oldestStagedMs, w.scheduler.now() - (start + 1));
  assert.equal(q.oldestStagedMs, 999);
  assert.equal(s.stats().events.undecided, 1);
  await w.scheduler.advance(2000);
  q = a.stats().queue;
  assert.equal(q.oldestStagedMs, 2999, "the age grows with the virtual clock");

  w.network.resume("B");
  await w.run();
  assert.ok((await sent).ok);
  assert.deepEqual(a.stats().queue, { depth: 0, staged: 0, oldestStagedMs: 0, unread: 1 });
  const rounds = s.stats().rounds;
  assert.equal(rounds.count, 1);
  assert.ok(rounds.max >= 3000, `the round took as long as B was paused (${rounds.max} ms)`);
  assert.equal(s.stats().events.delivered, 0);
  assert.equal(a.stats().events.delivered + b.stats().events.delivered, 2);
  await w.close();
});

test("stats: quota refusals are counted, one per refused event", async () => {
  const w = new SimWorld({ seed: 13, latency: { min: 1, max: 1 } });
  const a = w.addPeer("A");
  const b = w.addPeer("B", { quota: { maxQueuedEvents: 8 } });
  w.link("A", "B");
  const handle = w.give(b.createNode(), "A");
  await w.run();
  const sent = Array.from({ length: 10 }, (_, i) => a.send(handle, i));
  await w.run();
  const results = await Promise.all(sent);
  const refused = results.filter((r) => r.destinations[0]?.code === "E_QUOTA").length;
  assert.ok(refused > 0, "the quota refused some");
  assert.equal(b.stats().quotaRefusals, refused);
  assert.equal(b.stats().events.delivered, 10 - refused);
  await w.close();
});

test("logger: sessions up, detached then expired with its code, closed cleanly with OK", async () => {
  const rec = recorder();
  const w = new SimWorld({ seed: 14, latency: { min: 1, max: 1 } });
  const a = w.addPeer("A", { logger: rec.logger, session: { graceMs: 500 } });
  w.addPeer("B");
  w.addPeer("C");
  w.link("A", "B");
  w.link("A", "C");
  await w.run();
  const up = rec.entries.filter((e) => e.message === "session up").map((e) => [e.level, e.fields?.remote]);
  assert.deepEqual(up, [
    ["info", "B"],
    ["info", "C"],
  ]);

  // B's link is cut: A's session waits its grace (debug), then expires (warn, with the code).
  w.network.cut("A", "B");
  await w.run();
  const b = rec.entries.filter((e) => e.fields?.remote === "B" && e.message !== "session up");
  assert.deepEqual(
    b.map((e) => [e.level, e.message, e.fields?.code]),
    [
      ["debug", "session detached, waiting for a resume", "E_LINK_CUT"],
      ["warn", "session expired", "E_SESSION_EXPIRED"],
    ],
  );
  assert.equal(a.stats().links.B, undefined, "an ended session leaves the stats");

  // A clean close: info, code OK.
  await w.peer("C").close();
  await w.run();
  const closed = rec.entries.find((e) => e.message === "session closed" && e.fields?.remote === "C");
  assert.equal(closed?.level, "info");
  assert.equal(closed?.fields?.code, "OK");
  assert.equal(rec.entries.filter((e) => e.level === "error").length, 0);
  await w.close();
});

test("stats and logger: a session detached and resumed on a new link within its grace", async () => {
  const rec = recorder();
  const w = new SimWorld({ seed: 17, latency: { min: 1, max: 1 } });
  const a = w.addPeer("A", { logger: rec.logger, session: { graceMs: 1000 } });
  const b = w.addPeer("B", { session: { graceMs: 1000 } });
  w.link("A", "B");
  const handle = w.give(b.createNode(), "A");
  await w.run();
  w.network.cut("A", "B");
  await w.scheduler.advance(100);
  assert.equal(a.stats().links.B?.live, false, "detached, not gone");
  const sent = a.send(handle, "across the break");
  // Both ends dial again, as the socket transports' dialers would.
  const [atA, atB] = w.network.link("A", "B");
  a.connect(atA, "B");
  b.connect(atB, "A");
  await w.run();
  assert.ok((await sent).ok);
  const link = a.stats().links.B;
  assert.equal(link?.live, true);
  assert.equal(link?.resumes, 1);
  assert.equal(b.stats().links.A?.resumes, 1);
  assert.equal(b.stats().events.delivered, 1);
  assert.deepEqual(
    rec.entries.filter((e) => e.fields?.remote === "B").map((e) => [e.level, e.message]),
    [
      ["info", "session up"],
      ["debug", "session detached, waiting for a resume"],
      ["info", "session resumed"],
    ],
  );
  await w.close();
});

test("logger: an owner never reached within the dial timeout is reported unreachable", async () => {
  const rec = recorder();
  const w = new SimWorld({ seed: 18, dial: true, unreachable: new Set(["X"]), dialTimeoutMs: 100 });
  const a = w.addPeer("A", { logger: rec.logger });
  const x = w.addPeer("X");
  const url = x.export(x.createNode());
  const imported = a.import(url).then(
    () => "imported",
    (error: { code?: string }) => error.code,
  );
  await w.run();
  assert.equal(await imported, "E_UNREACHABLE");
  const entry = rec.entries.find((e) => e.message === "peer unreachable");
  assert.deepEqual(entry, {
    level: "info",
    message: "peer unreachable",
    fields: { remote: "X", code: "E_UNREACHABLE", dialTimeoutMs: 100 },
  });
  await w.close();
});

test("logger: a stage timeout is a warning, counted in stats, then the sender's session closes", async () => {
  const rec = recorder();
  const w = new SimWorld({ seed: 15, latency: { min: 1, max: 1 } });
  const s = w.addPeer("S");
  // Simulated links report a cut at once and have no grace: a short stage timeout fits them.
  const a = w.addPeer("A", {
    logger: rec.logger,
    stageTimeoutMs: 2000,
    linkTimeouts: { deadAfterMs: 0, graceMs: 0 },
  });
  const b = w.addPeer("B");
  w.linkAll();
  const toA = w.give(a.createNode(), "S");
  const toB = w.give(b.createNode(), "S");
  await w.run();
  w.network.pause("B");
  const sent = s.send([toA, toB], "stuck").catch(() => undefined);
  await w.scheduler.advance(2500);
  assert.deepEqual(
    rec.entries.filter((e) => e.level === "warn").map((e) => [e.message, e.fields?.remote, e.fields?.code]),
    [
      ["stage timeout: closing the sender's session", "S", "E_STAGE_TIMEOUT"],
      ["session closed", "S", "E_STAGE_TIMEOUT"],
    ],
  );
  assert.equal(a.stats().stageTimeouts, 1);
  // A multicast stays staged while its other receiver, B, is asked (spec/ordering.md §16 T2).
  assert.equal(a.stats().queue.staged, 1, "kept while B is asked");
  w.network.resume("B");
  await w.run();
  await sent;
  // S went on without A and committed at B: B shows A the final, and A delivers it.
  assert.equal(a.stats().queue.staged, 0);
  assert.deepEqual(a.stats().reconciliations, { committed: 1, dropped: 0, fallback: 0 });
  await w.close();
});

/** A run with a quota refusal, a stage timeout, a link cut and a session expiry. */
async function troubledRun(logger?: Logger): Promise<void> {
  const extra = logger ? { logger } : {};
  const w = new SimWorld({ seed: 16, latency: { min: 1, max: 3 } });
  const s = w.addPeer("S", { ...extra, session: { graceMs: 200 } });
  const a = w.addPeer("A", {
    ...extra,
    stageTimeoutMs: 1000,
    linkTimeouts: { deadAfterMs: 0, graceMs: 0 },
    quota: { maxQueuedEvents: 4 },
  });
  const b = w.addPeer("B", { ...extra, session: { graceMs: 200 } });
  w.linkAll();
  const toA = w.give(a.createNode(), "S");
  const toB = w.give(b.createNode(), "S");
  await w.run();
  const unicasts = Array.from({ length: 6 }, (_, i) => s.send(toA, i)); // some over quota
  await w.run();
  drain(a); // room in A's queue again for the multicast's stage
  w.network.pause("B");
  const stuck = s.send([toA, toB], "stuck").catch(() => undefined);
  await w.scheduler.advance(1500); // A's stage timeout fires
  w.network.resume("B");
  w.network.cut("S", "B"); // detached, then expired after the grace
  await w.run();
  await Promise.all([...unicasts, stuck]);
  await w.close();
}

test("the troubled run logs what happened when given a logger", async () => {
  const rec = recorder();
  await troubledRun(rec.logger);
  const seen = new Set(rec.entries.map((e) => `${e.level} ${e.message} ${String(e.fields?.code ?? "")}`));
  for (const expected of [
    "debug event refused: over quota E_QUOTA",
    "warn stage timeout: closing the sender's session E_STAGE_TIMEOUT",
    "debug session detached, waiting for a resume E_LINK_CUT",
    "warn session expired E_SESSION_EXPIRED",
  ])
    assert.ok(seen.has(expected), `${expected} in ${[...seen].join("; ")}`);
});

test("a logger's own exceptions are dropped, and a class logger keeps its this", async () => {
  class Counting {
    calls = 0;
    warn(): void {
      this.calls++;
      throw new Error("a broken logger");
    }
  }
  const logger = new Counting();
  await troubledRun(logger); // completes: the throws never reach the peers' bookkeeping
  assert.ok(logger.calls > 0);
});

test("no console or stderr output by default, through the same troubled run", async () => {
  const calls: string[] = [];
  const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
  const saved = methods.map((m) => console[m]);
  const savedWrite = process.stderr.write;
  for (const m of methods) console[m] = (...args: unknown[]) => void calls.push(`${m}: ${args.join(" ")}`);
  process.stderr.write = ((chunk: unknown) => {
    calls.push(`stderr: ${String(chunk)}`);
    return true;
  }) as typeof process.stderr.write;
  try {
    await troubledRun();
  } finally {
    methods.forEach((m, i) => {
      console[m] = saved[i]!;
    });
    process.stderr.write = savedWrite;
  }
  assert.deepEqual(calls, []);
});
