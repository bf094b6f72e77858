/**
 * Time bounds per sender (spec/guarantees.md §4.5-4.6, spec/limits.md §3.1 T6-T7), on the
 * simulated network with scripted hostile peers (issue 17, findings 5-7): a sender that keeps the
 * head of a queue across chained entries is cut off; an owner whose holder never answers its
 * destroy, and a server whose reply is never accepted, go on after the answer timeout; an honest
 * busy sender with slow rounds trips neither bound.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTraces, formatReport } from "@capbus/checker";
import type { Peer, PeerEvent } from "@capbus/core";
import { Random, ScriptedLink, SimWorld } from "@capbus/sim";
import { MemoryTraceSink } from "@capbus/trace";
import { type Frame, FrameCodec } from "@capbus/wire";

const codec = new FrameCodec();
const EMPTY = new Uint8Array(0);

/** A hostile peer: a scripted link into `peer` that numbers its frames and reads the answers. */
class Script {
  readonly link = new ScriptedLink();
  /** The last answer (propose, accept, reject, dead) `peer` sent, per event of the script. */
  readonly answers = new Map<number, Frame>();
  /** Frames `peer` sent that are not answers (stage, unicast, destroy, ...). */
  readonly #received: Frame[] = [];
  #seq = 0;

  constructor(peer: Peer, id: string) {
    peer.connect(this.link, id);
    this.send({
      type: "hello",
      versions: [2],
      peer: id,
      key: EMPTY,
      nonce: new Uint8Array(16),
      session: EMPTY,
    });
  }

  get open(): boolean {
    return this.link.closed === undefined;
  }

  /** Hand the peer one frame (sequence numbers filled in). */
  send(frame: Record<string, unknown>): void {
    this.link.deliver(codec.encode({ ...frame, seq: this.#seq++, ack: 0 } as Frame));
    this.read();
  }

  read(): void {
    for (const bytes of this.link.take()) {
      const decoded = codec.decodeFrame(bytes);
      if (!decoded.ok) continue;
      const frame = decoded.frame;
      if (
        frame.type === "propose" ||
        frame.type === "accept" ||
        frame.type === "reject" ||
        frame.type === "dead"
      )
        this.answers.set(frame.event, frame);
      else this.#received.push(frame);
    }
  }

  /** Frames the peer sent so far that are not answers. */
  received(): Frame[] {
    this.read();
    return this.#received;
  }

  /** The proposal the peer answered event `event` with. */
  proposal(event: number): number {
    this.read();
    const answer = this.answers.get(event);
    assert.ok(answer?.type === "propose", `event ${event} was proposed`);
    return answer.lamport;
  }
}

/** Each delivered message's payload and the virtual time it was delivered at. */
function record(w: SimWorld, peer: Peer): Map<unknown, number> {
  const at = new Map<unknown, number>();
  void (async () => {
    for await (const event of peer) if (event.kind === "message") at.set(event.payload, w.scheduler.now());
  })();
  return at;
}

/** Run `fn` every `everyMs` from now, `times` times. */
function every(w: SimWorld, everyMs: number, times: number, fn: (i: number) => void): void {
  for (let i = 0; i < times; i++) w.scheduler.setTimer(i * everyMs, () => fn(i));
}

/** Times at which `peer` logged a warning with `code`. */
function warnings(
  w: SimWorld,
  code: string,
): { logger: { warn: (m: string, f?: object) => void }; at: number[] } {
  const at: number[] = [];
  return {
    at,
    logger: {
      warn: (_message, fields) => {
        if ((fields as { code?: string } | undefined)?.code === code && !at.includes(w.scheduler.now()))
          at.push(w.scheduler.now());
      },
    },
  };
}

/**
 * Hostile staging patterns that never leave one entry staged for the stage timeout but hold the
 * head of the victim's queue almost all the time, each entry `holdMs` long.
 */
const ATTACKS = [
  // The issue's: a new entry every second, each committed 40 s after it was staged.
  { name: "a new entry every second, each committed 40 s later", stageEveryMs: 1_000, holdMs: 40_000 },
  // One at a time: the next is staged just before the last is committed, each held 60 s.
  { name: "one entry at a time, each committed 60 s later", stageEveryMs: 59_500, holdMs: 60_000 },
];

for (const attack of ATTACKS) {
  test(`head of line: ${attack.name}: the sender is cut off within the bound, honest deliveries flow again`, async () => {
    const traces = new MemoryTraceSink();
    const w = new SimWorld({ seed: 31, latency: { min: 1, max: 1 }, traceFor: () => traces });
    const cuts = warnings(w, "E_STAGE_TIMEOUT");
    const p = w.addPeer("P", { logger: cuts.logger });
    const h = w.addPeer("H");
    w.link("P", "H");
    const inbox = p.createNode();
    const fromH = w.give(inbox, "H");
    const s = new Script(p, "S");
    p.grant(inbox, "S");
    await w.run();
    const { stageTimeoutMs, stallMs } = p.timeouts;
    const start = w.scheduler.now();
    const delivered = record(w, p);

    // The attacker: stage, and commit each entry at its proposal `holdMs` later.
    const runFor = 300_000;
    every(w, attack.stageEveryMs, Math.ceil(runFor / attack.stageEveryMs), (i) => {
      if (!s.open) return;
      const event = i + 1;
      s.send({
        type: "stage",
        event,
        clock: 0,
        nodes: [inbox.id],
        payload: `attack ${event}`,
        handles: [],
        receivers: ["P"],
      });
      const lamport = s.proposal(event);
      w.scheduler.setTimer(attack.holdMs, () => {
        if (s.open) s.send({ type: "commit", event, lamport, dead: [] });
      });
    });
    // The honest prober: two messages a second, all through the attack and after it.
    const sentAt = new Map<string, number>();
    const sends: Promise<unknown>[] = [];
    every(w, 500, (runFor + 60_000) / 500, (i) => {
      sentAt.set(`probe ${i}`, w.scheduler.now());
      sends.push(h.send(fromH, `probe ${i}`));
    });
    await w.run({ maxTime: runFor + 70_000 });

    assert.equal(s.link.closed?.code, "E_STAGE_TIMEOUT", "the attacker is cut off");
    assert.equal(cuts.at.length, 1);
    const cutAt = cuts.at[0] as number;
    assert.ok(
      cutAt - start <= 2 * stageTimeoutMs,
      `cut after ${cutAt - start} ms (stage timeout ${stageTimeoutMs}, stall ${stallMs})`,
    );
    // Every probe is delivered; none waits longer than the stage timeout, and once the attacker
    // is cut off they arrive at the link's speed again. The honest peer is never refused.
    for (const [probe, at] of sentAt) {
      const got = delivered.get(probe);
      assert.ok(got !== undefined, `${probe} delivered`);
      assert.ok(got - at <= stageTimeoutMs, `${probe} waited ${got - at} ms`);
      if (at > cutAt + 1_000) assert.ok(got - at <= 10, `${probe}, after the cut, waited ${got - at} ms`);
    }
    for (const sent of sends) assert.ok(((await sent) as { ok: boolean }).ok);
    assert.ok(p.linkedPeers.includes("H"));
    assert.equal(h.stats().stageTimeouts + h.stats().answerTimeouts, 0);
    await w.close();
    const report = checkTraces(traces.byPeer);
    assert.ok(report.ok, formatReport(report));
  });
}

test("own destroy: a holder that never answers is cut off after the answer timeout; the owner's queue flows again", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 32, latency: { min: 1, max: 1 }, traceFor: () => traces });
  const cuts = warnings(w, "E_ANSWER_TIMEOUT");
  const o = w.addPeer("O", { logger: cuts.logger });
  const h = w.addPeer("H");
  w.link("O", "H");
  const doomed = o.createNode();
  const inbox = o.createNode();
  w.give(doomed, "H");
  const fromH = w.give(inbox, "H");
  // X holds a handle to the node and is staged at for its destroy, but never answers.
  const x = new Script(o, "X");
  o.grant(doomed, "X");
  await w.run();
  const { answerTimeoutMs } = o.timeouts;
  const start = w.scheduler.now();
  const delivered = record(w, o);
  let destroyedAt: number | undefined;
  const destroy = o.destroy(doomed).then(() => {
    destroyedAt = w.scheduler.now();
  });
  const sentAt = new Map<string, number>();
  const sends: Promise<unknown>[] = [];
  every(w, 1_000, 150, (i) => {
    sentAt.set(`m${i}`, w.scheduler.now());
    // Settled either way: before the fix, H cut O off (its stage timeout) and these failed.
    sends.push(h.send(fromH, `m${i}`).catch((error: unknown) => error));
  });
  await w.run({ maxTime: 160_000 });

  assert.ok(
    x.received().some((f) => f.type === "destroy"),
    "the destroy was staged at the silent holder",
  );
  assert.equal(x.link.closed?.code, "E_ANSWER_TIMEOUT");
  assert.deepEqual(cuts.at, [start + answerTimeoutMs]);
  await destroy;
  assert.ok(
    destroyedAt !== undefined && destroyedAt - start <= answerTimeoutMs + 100,
    `destroyed at ${destroyedAt}`,
  );
  assert.equal(o.stats().answerTimeouts, 1);
  // H's messages wait behind the owner's own staged destroy at most the answer timeout.
  for (const [m, at] of sentAt) {
    const got = delivered.get(m);
    assert.ok(got !== undefined, `${m} delivered`);
    assert.ok(got - at <= answerTimeoutMs, `${m} waited ${got - at} ms`);
  }
  for (const sent of sends) assert.ok(((await sent) as { ok?: boolean }).ok, String(await sent));
  // H had the destroy staged all the while: it did not cut the owner, and was told in the order.
  assert.ok(h.linkedPeers.includes("O"));
  assert.equal(h.stats().stageTimeouts, 0);
  const atH: string[] = [];
  for (let e = h.poll(); e; e = h.poll())
    if (e.kind === "destroyed") atH.push(`${e.handle.name}:${e.reason}`);
  assert.deepEqual(atH, [`${doomed.name}:destroyed`]);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("request server: a reply never accepted is given up after the answer timeout; later unicasts go out", async () => {
  const traces = new MemoryTraceSink();
  const w = new SimWorld({ seed: 33, latency: { min: 1, max: 1 }, traceFor: () => traces });
  const r = w.addPeer("R");
  const h = w.addPeer("H");
  w.link("R", "H");
  const service = r.createNode();
  const toH = w.give(h.createNode(), "R");
  const received = record(w, h);
  // X requests, carrying a handle to its own reply node (X/1), and commits the request.
  const x = new Script(r, "X");
  r.grant(service, "X");
  await w.run();
  const { answerTimeoutMs } = r.timeouts;
  x.send({
    type: "stage",
    event: 1,
    clock: 0,
    nodes: [service.id],
    payload: { $request: 1, body: "ping" },
    handles: [{ owner: "X", node: 1 }],
    receivers: ["R"],
  });
  x.send({ type: "commit", event: 1, lamport: x.proposal(1), dead: [] });
  const request = (await r.receive()) as PeerEvent;
  assert.ok(request.kind === "message" && request.reply, "delivered as a request");
  const repliedAt = w.scheduler.now();
  const reply = request.reply("pong");
  await w.run({ maxTime: 10 });
  assert.ok(
    x.received().some((f) => f.type === "unicast"),
    "the reply went out as a fast unicast, and X never accepts it",
  );
  // Later unicasts to another peer wait behind it (R1) until the answer timeout gives it up.
  const after = r.send(toH, "after the reply");
  await w.run({ maxTime: 120_000 }); // the answer timeout is 60 s

  assert.equal(x.link.closed?.code, "E_ANSWER_TIMEOUT");
  const result = await reply;
  assert.deepEqual(result.destinations, [{ node: "X/1", committed: false, code: "E_LINK_CLOSED" }]);
  assert.ok((await after).ok);
  const got = received.get("after the reply");
  assert.ok(got !== undefined && got - repliedAt <= answerTimeoutMs + 10, `delivered at ${got}`);
  assert.equal(r.stats().answerTimeouts, 1);
  await w.close();
  const report = checkTraces(traces.byPeer);
  assert.ok(report.ok, formatReport(report));
});

test("an honest busy sender with slow, steady rounds trips neither bound (seeded runs)", async () => {
  for (const seed of [41, 42, 43]) {
    const random = new Random(seed);
    const w = new SimWorld({ seed, latency: { min: 50, max: 1_500 } });
    // Links that cannot resume (simulated): the tightest bounds the rules allow (T2, T6, T7).
    const tight = { linkTimeouts: { deadAfterMs: 0, graceMs: 0 } };
    const [s, p, q] = ["S", "P", "Q"].map((id) => w.addPeer(id, tight)) as [Peer, Peer, Peer];
    w.linkAll();
    const atP = w.give(p.createNode(), "S");
    const atQ = w.give(q.createNode(), "S");
    const fromP = w.give(s.createNode(), "P");
    const gift = w.give(q.createNode(), "S");
    for (const peer of [p, q, s]) void drainForever(peer);
    await w.run();
    const sends: Promise<unknown>[] = [];
    // 5 virtual minutes of multicasts, about 8 a second over 0.1-3 s round trips: S always has
    // rounds staged at P and Q, so it holds the head of their queues nearly all the time; every
    // few seconds a unicast, a transfer or a request (the causality rule holds the rounds behind
    // them until they are decided), and P sends back. Rounds commit slowly, but steadily.
    let t = 0;
    for (let i = 0; t < 300_000; i++) {
      t += random.int(50, 200);
      w.scheduler.setTimer(t, () => {
        const kind = i % 25 === 0 ? random.int(1, 4) : 0;
        if (kind === 0) sends.push(s.send([atP, atQ], `multicast ${i}`));
        else if (kind === 1) sends.push(s.send(random.int(0, 1) ? atP : atQ, `unicast ${i}`));
        else if (kind === 2) sends.push(s.send(atP, `transfer ${i}`, { handles: [gift] }));
        else if (kind === 3) sends.push(s.request(atP, `request ${i}`).then(() => ({ ok: true })));
        else sends.push(p.send(fromP, `back ${i}`));
      });
    }
    await w.run();
    for (const peer of [s, p, q]) {
      const stats = peer.stats();
      assert.equal(stats.stageTimeouts, 0, `seed ${seed}: ${peer.id} cut a sender off`);
      assert.equal(stats.answerTimeouts, 0, `seed ${seed}: ${peer.id} cut a participant off`);
    }
    assert.deepEqual(s.linkedPeers.sort(), ["P", "Q"], `seed ${seed}`);
    for (const sent of await Promise.all(sends)) assert.ok((sent as { ok: boolean }).ok, `seed ${seed}`);
    await w.close();
  }
});

/** Read every event, answering requests. */
async function drainForever(peer: Peer): Promise<void> {
  for await (const event of peer) {
    if (event.kind === "message" && event.reply) void event.reply(`re: ${String(event.payload)}`);
  }
}
