/**
 * The profile reader interns short ASCII text (src/profile.ts): the same bytes decode to the
 * same string, and different bytes never do, even when they share a slot of its fixed table.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "cbor-x";
import fc from "fast-check";
import { readProfile } from "../src/profile.js";

const roundTrip = (value: unknown): unknown => readProfile(encode(value), 64).value;

test("interned text decodes exactly, whatever shares its slot", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ minLength: 0, maxLength: 140 }), { minLength: 1, maxLength: 600 }),
      (texts) => {
        // Twice over: the second pass reads what the first left in the table.
        for (let pass = 0; pass < 2; pass++) for (const t of texts) assert.equal(roundTrip(t), t);
      },
    ),
    { numRuns: 50 },
  );
});

test("many distinct ids share the table's slots without mixing them up", () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `peer-${i.toString(36)}-${"x".repeat(i % 120)}`);
  for (let pass = 0; pass < 2; pass++) assert.deepEqual(roundTrip(ids), ids);
  assert.deepEqual(roundTrip({ a: "same", b: "same", c: "sane" }), { a: "same", b: "same", c: "sane" });
});
