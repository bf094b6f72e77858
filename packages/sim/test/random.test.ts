import assert from "node:assert/strict";
import { test } from "node:test";
import { Random } from "@capbus/sim";

const draw = (r: Random, n: number) => Array.from({ length: n }, () => r.nextUint32());

test("same seed gives the same stream, different seeds differ", () => {
  assert.deepEqual(draw(new Random(7), 100), draw(new Random(7), 100));
  assert.notDeepEqual(draw(new Random(7), 100), draw(new Random(8), 100));
  assert.notDeepEqual(draw(new Random(0), 100), draw(new Random(1), 100));
});

test("int stays in range and hits both ends; next is in [0, 1)", () => {
  const r = new Random(42);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const v = r.int(-3, 3);
    assert.ok(v >= -3 && v <= 3 && Number.isInteger(v));
    seen.add(v);
    const f = r.next();
    assert.ok(f >= 0 && f < 1);
  }
  assert.equal(seen.size, 7);
  assert.throws(() => r.int(2, 1), RangeError);
  assert.throws(() => new Random(-1), RangeError);
  assert.throws(() => new Random(2 ** 32), RangeError);
});

test("pick, chance and fill", () => {
  const r = new Random(1);
  const items = ["a", "b", "c"] as const;
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) counts.set(r.pick(items), (counts.get(r.pick(items)) ?? 0) + 1);
  assert.equal(counts.size, 3);
  assert.throws(() => r.pick([]), RangeError);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (r.chance(0.25)) hits++;
  assert.ok(hits > 2200 && hits < 2800, `chance(0.25) hit ${hits}/10000`);
  const a = new Uint8Array(7);
  const b = new Uint8Array(7);
  new Random(5).fill(a);
  new Random(5).fill(b);
  assert.deepEqual(a, b);
  assert.ok(a.some((x) => x !== 0));
});

test("fork is named by label and independent of the parent's use", () => {
  const p1 = new Random(9);
  const p2 = new Random(9);
  draw(p2, 50); // using the parent must not change its forks
  assert.deepEqual(draw(p1.fork("x"), 20), draw(p2.fork("x"), 20));
  assert.notDeepEqual(draw(p1.fork("x"), 20), draw(p1.fork("y"), 20));
  assert.notDeepEqual(draw(p1.fork("x"), 20), draw(new Random(9), 20));
});
