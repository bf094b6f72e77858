import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { FinalProof } from "../src/finals.js";
import { RetainedFinals } from "../src/retained.js";

const proof = (lamport: number): FinalProof => ({
  lamport,
  first: lamport,
  last: lamport,
  skip: [],
  dead: [],
  sig: new Uint8Array(0),
});

test("a kept final is found by sender and seq, with its receivers; others are not", () => {
  const kept = new RetainedFinals(1000, 100);
  kept.keep("A", 1, ["B", "C"], proof(10), 0);
  kept.keep("A", 2, ["B"], proof(11), 0);
  kept.keep("D", 1, ["C"], proof(12), 0);
  assert.equal(kept.get("A", 1)?.proof.lamport, 10);
  assert.deepEqual(kept.get("A", 1)?.receivers, ["B", "C"]);
  assert.equal(kept.get("D", 1)?.proof.lamport, 12);
  assert.equal(kept.get("A", 3), undefined);
  assert.equal(kept.get("B", 1), undefined);
  assert.equal(kept.size, 3);
});

test("a final kept again replaces the first, and counts once", () => {
  const kept = new RetainedFinals(1000, 100);
  kept.keep("A", 5, ["B"], proof(1), 0);
  kept.keep("A", 6, ["B"], proof(2), 0);
  kept.keep("A", 5, ["C"], proof(3), 0);
  assert.equal(kept.size, 2);
  assert.equal(kept.get("A", 5)?.proof.lamport, 3);
  assert.deepEqual(kept.get("A", 5)?.receivers, ["C"]);
});

test("finals go once kept keepMs (looked at as later ones come), never before", () => {
  const kept = new RetainedFinals(100, 1000);
  kept.keep("A", 1, ["B"], proof(1), 0);
  kept.keep("A", 2, ["B"], proof(2), 50);
  kept.keep("A", 3, ["B"], proof(3), 99);
  assert.equal(kept.get("A", 1)?.proof.lamport, 1);
  kept.keep("A", 4, ["B"], proof(4), 100);
  assert.equal(kept.get("A", 1), undefined);
  assert.equal(kept.get("A", 2)?.proof.lamport, 2);
  assert.equal(kept.size, 3);
  // Another sender's pass sweeps A too.
  kept.keep("E", 1, ["B"], proof(5), 300);
  assert.equal(kept.get("A", 4), undefined);
  assert.equal(kept.size, 1);
});

test("over the bound, the sender with the most kept loses its oldest", () => {
  const kept = new RetainedFinals(1_000_000, 4);
  kept.keep("A", 1, ["B"], proof(1), 0);
  kept.keep("F", 1, ["B"], proof(2), 0);
  kept.keep("F", 2, ["B"], proof(3), 0);
  kept.keep("F", 3, ["B"], proof(4), 0);
  kept.keep("A", 2, ["B"], proof(5), 0);
  assert.equal(kept.size, 4);
  assert.equal(kept.get("F", 1), undefined);
  assert.equal(kept.get("A", 1)?.proof.lamport, 1);
  assert.equal(kept.get("F", 2)?.proof.lamport, 3);
});

/** The Map-of-Maps retention the arrays replaced, as the reference. */
class MapModel {
  readonly bySender = new Map<string, Map<number, { lamport: number; at: number }>>();
  size = 0;
  sweptAt = Number.NEGATIVE_INFINITY;
  constructor(
    readonly keepMs: number,
    readonly max: number,
  ) {}

  keep(sender: string, seq: number, lamport: number, now: number): void {
    let held = this.bySender.get(sender);
    if (!held) {
      held = new Map();
      this.bySender.set(sender, held);
    }
    if (!held.has(seq)) this.size++;
    held.set(seq, { lamport, at: now });
    if (now - this.sweptAt >= 1 || now < this.sweptAt) {
      this.sweptAt = now;
      this.expire(sender, now);
      if (!(this.bySender.size === 1 && this.bySender.has(sender)))
        for (let i = 0; i < 2; i++) {
          const front = this.bySender.keys().next();
          if (front.done) break;
          const finals = this.bySender.get(front.value);
          if (!this.expire(front.value, now) || !finals) continue;
          this.bySender.delete(front.value);
          this.bySender.set(front.value, finals);
        }
    }
    while (this.size > this.max) {
      let most: Map<number, unknown> | undefined;
      let who = "";
      for (const [s, finals] of this.bySender)
        if (!most || finals.size > most.size) {
          most = finals;
          who = s;
        }
      if (!most) break;
      most.delete(most.keys().next().value as number);
      this.size--;
      if (most.size === 0) this.bySender.delete(who);
    }
  }

  expire(sender: string, now: number): boolean {
    const held = this.bySender.get(sender);
    if (!held) return false;
    for (const [seq, kept] of held) {
      if (now - kept.at < this.keepMs) break;
      held.delete(seq);
      this.size--;
    }
    if (held.size > 0) return true;
    this.bySender.delete(sender);
    return false;
  }
}

test("keeps what the Map-of-Maps retention kept: any seqs, repeats, expiry, the bound (property)", () => {
  const op = fc.record({
    sender: fc.constantFrom("A", "B", "C", "D"),
    seq: fc.nat({ max: 40 }),
    dt: fc.nat({ max: 30 }),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (ops, max) => {
      const keepMs = 200;
      const kept = new RetainedFinals(keepMs, max);
      const model = new MapModel(keepMs, max);
      let now = 0;
      let lamport = 0;
      for (const { sender, seq, dt } of ops) {
        now += dt;
        lamport++;
        kept.keep(sender, seq, [sender], proof(lamport), now);
        model.keep(sender, seq, lamport, now);
        assert.equal(kept.size, model.size);
        for (const who of ["A", "B", "C", "D"])
          for (let s = 0; s <= 40; s++)
            assert.equal(kept.get(who, s)?.proof.lamport, model.bySender.get(who)?.get(s)?.lamport);
      }
    }),
    { numRuns: 200 },
  );
});

test("a long stream at the bound keeps its newest finals (the arrays compact as they go)", () => {
  const kept = new RetainedFinals(1_000_000, 1500);
  const model = new MapModel(1_000_000, 1500);
  for (let seq = 1; seq <= 10_000; seq++) {
    kept.keep("A", seq, ["B"], proof(seq), seq);
    model.keep("A", seq, seq, seq);
    if (seq % 7 === 0) {
      kept.keep("C", seq, ["B"], proof(seq), seq);
      model.keep("C", seq, seq, seq);
    }
  }
  assert.equal(kept.size, model.size);
  for (const who of ["A", "C"])
    for (let seq = 1; seq <= 10_000; seq++)
      assert.equal(kept.get(who, seq)?.proof.lamport, model.bySender.get(who)?.get(seq)?.lamport);
});
