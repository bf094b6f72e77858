/**
 * The hot frames' fast validators (src/fast.ts) against the zod schemas, which stay the
 * reference: over objects shaped as the codec builds them, each accepts exactly what its schema
 * accepts, and what it accepts equals the schema's parsed value.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FAST_VALIDATORS } from "../src/fast.js";
import { FRAME_LAYOUTS } from "../src/frames.js";

const edgeNumber = fc.constantFrom(
  0,
  -0,
  1,
  2,
  -1,
  0.5,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  Number.NaN,
  Number.POSITIVE_INFINITY,
);
const number = fc.oneof(edgeNumber, fc.nat({ max: 1000 }), fc.integer(), fc.double());
const peerLike = fc.oneof(
  fc.constantFrom("A", "peer-1", "", " a", "a b", "é", "\x7f", "x".repeat(128), "x".repeat(129)),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(
  number,
  peerLike,
  fc.constantFrom(null, true, false, undefined),
  fc.uint8Array({ maxLength: 3 }),
);
// Maps decode to plain objects (never null-prototype ones: on those the fast validators defer to zod).
const plain = { noNullPrototype: true } as const;
const refLike = fc.oneof(
  fc.record({ owner: peerLike, node: number }, plain),
  fc.record({ owner: peerLike, node: number, extra: scalar }, plain),
  fc.record({ owner: peerLike }, plain),
  fc.dictionary(fc.constantFrom("owner", "node", "x"), scalar, plain),
  scalar,
  fc.tuple(peerLike, number),
);
const listOf = <T>(item: fc.Arbitrary<T>) => fc.array(item, { maxLength: 4 });
const nodesLike = fc.oneof(listOf(fc.nat({ max: 5 })), listOf(number), scalar);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  scalar,
  listOf(scalar),
  fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2, ...plain }),
);

const uintArb = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());
const peerArb = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 8,
});
const refArb = fc.record({ owner: peerArb, node: uintArb }, plain);
/** Mostly valid values (so both sides of the boundary are hit), else near-misses and anything. */
const bent = (valid: fc.Arbitrary<unknown>, other: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: other });
const fieldArb: Record<string, fc.Arbitrary<unknown>> = {
  seq: bent(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.oneof(number, scalar)),
  ack: bent(uintArb, fc.oneof(number, scalar)),
  event: bent(uintArb, fc.oneof(number, scalar)),
  clock: bent(uintArb, fc.oneof(number, scalar)),
  lamport: bent(uintArb, fc.oneof(number, scalar)),
  node: bent(uintArb, fc.oneof(number, scalar)),
  nodes: bent(fc.uniqueArray(uintArb, { minLength: 1, maxLength: 4 }), nodesLike),
  payload: anyValue,
  handles: bent(listOf(refArb), fc.oneof(listOf(refLike), scalar)),
  dead: bent(listOf(refArb), fc.oneof(listOf(refLike), scalar)),
  receivers: bent(listOf(peerArb), fc.oneof(listOf(peerLike), listOf(scalar), scalar)),
  // Batch frames: parallel lists of one or two entries, so lengths agree about half the time.
  to: bent(fc.array(uintArb, { minLength: 1, maxLength: 2 }), nodesLike),
  payloads: bent(fc.array(anyValue, { minLength: 1, maxLength: 2 }), scalar),
  events: bent(
    fc.uniqueArray(uintArb, { minLength: 1, maxLength: 2 }).map((a) => a.sort((x, y) => x - y)),
    nodesLike,
  ),
  targets: bent(
    fc.array(fc.uniqueArray(uintArb, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 2 }),
    fc.oneof(listOf(nodesLike), scalar),
  ),
  count: bent(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.oneof(number, scalar)),
  refusals: bent(
    listOf(
      fc.oneof(
        fc.tuple(uintArb, fc.constantFrom("E_NO_NODE", "E_QUOTA")),
        fc.tuple(uintArb, fc.constant("E_NO_HANDLE"), uintArb),
      ),
    ),
    fc.oneof(listOf(listOf(scalar)), scalar),
  ),
  destroyed: bent(
    listOf(fc.tuple(uintArb, fc.uniqueArray(uintArb, { minLength: 1, maxLength: 2 }))),
    fc.oneof(listOf(listOf(scalar)), scalar),
  ),
};

for (const layout of FRAME_LAYOUTS) {
  const fast = FAST_VALIDATORS[layout.type];
  if (fast === undefined) continue;
  test(`fast validator for ${layout.type} agrees with its zod schema`, () => {
    const names = ["seq", "ack", ...layout.fields];
    const frame = fc.tuple(...names.map((n) => fieldArb[n] ?? anyValue)).map((values) => {
      const object: Record<string, unknown> = { type: layout.type };
      names.forEach((n, i) => {
        object[n] = values[i];
      });
      return object;
    });
    let accepted = 0;
    fc.assert(
      fc.property(frame, (object) => {
        const parsed = layout.schema.safeParse(object);
        assert.equal(fast(object), parsed.success, JSON.stringify(object));
        if (parsed.success) {
          accepted++;
          assert.deepEqual(parsed.data, object);
        }
      }),
      { numRuns: 20_000 },
    );
    // Both sides of the boundary are exercised, not only refusals.
    assert.ok(accepted > 20, `only ${accepted} valid ${layout.type} frames generated`);
  });
}

test("a null-prototype handle ref is left to zod (the codec never builds one)", () => {
  const ref = Object.assign(Object.create(null) as object, { owner: "A", node: 1 });
  const commit = { type: "commit", seq: 1, ack: 0, event: 1, lamport: 1, dead: [ref] };
  assert.equal(FAST_VALIDATORS.commit?.(commit), false);
});
