/**
 * The hot frames' builders (src/build.ts) against FRAME_LAYOUTS: each makes the object the
 * field-by-field way makes, the same keys in the same order with the same values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FRAME_BUILDERS, handleList } from "../src/build.js";
import { FRAME_LAYOUTS } from "../src/frames.js";

test("each frame builder makes type, seq, ack, the fields and the present optional fields, in order", () => {
  let checked = 0;
  for (const layout of FRAME_LAYOUTS) {
    const build = FRAME_BUILDERS[layout.type];
    if (build === undefined) continue;
    const optional = layout.optional ?? [];
    for (let extra = 0; extra <= optional.length; extra++) {
      const names = [...layout.fields, ...optional.slice(0, extra)];
      // Distinct values; a handle list as a list of pairs, to see it mapped to refs.
      const values = names.map((name, i) => (name === "handles" || name === "dead" ? [["P", i]] : `v${i}`));
      const object: Record<string, unknown> = build([layout.code, "seq", "ack", ...values], extra);
      assert.deepEqual(Object.keys(object), ["type", "seq", "ack", ...names], `${layout.type} +${extra}`);
      const expected: Record<string, unknown> = { type: layout.type, seq: "seq", ack: "ack" };
      names.forEach((name, i) => {
        expected[name] = name === "handles" || name === "dead" ? handleList(values[i]) : values[i];
      });
      assert.deepEqual(object, expected);
      checked++;
    }
  }
  assert.ok(checked >= 8);
});
