import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Frame, FrameCodec } from "@capbus/wire";
import fc from "fast-check";
import { fcParams, frames, hex } from "./arbitraries.js";

describe("round trip", () => {
  const codec = new FrameCodec();
  for (const [type, arbitrary] of Object.entries(frames)) {
    test(`${type}: decode(encode(f)) equals f, and re-encoding gives the same bytes`, () => {
      fc.assert(
        fc.property(arbitrary as fc.Arbitrary<Frame>, (frame) => {
          const bytes = codec.encode(frame);
          const back = codec.decode(bytes);
          assert.deepStrictEqual(back, frame);
          assert.equal(hex(codec.encode(back)), hex(bytes));
        }),
        fcParams,
      );
    });
  }

  test("two codecs agree (no state shared through cbor-x)", () => {
    const other = new FrameCodec();
    fc.assert(
      fc.property(fc.oneof(...Object.values(frames)) as fc.Arbitrary<Frame>, (frame) => {
        assert.equal(hex(other.encode(frame)), hex(codec.encode(frame)));
        assert.deepStrictEqual(other.decode(codec.encode(frame)), frame);
      }),
      fcParams,
    );
  });
});
