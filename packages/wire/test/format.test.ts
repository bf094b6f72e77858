/** Byte-level facts of the encoding that other CBOR implementations rely on (spec/wire.md §CBOR). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FRAME_CODES, type Frame, FrameCodec, FrameSchema, WireError } from "@capbus/wire";
import fc from "fast-check";
import { anyFrame, fcParams, fromHex, hex } from "./arbitraries.js";

const codec = new FrameCodec();
const unicast = (payload: unknown, clock = 1): Frame => ({
  type: "unicast",
  seq: 1,
  ack: 0,
  event: 1,
  clock,
  node: 1,
  payload,
});
/** Encoding of `payload` alone: the bytes after the unicast header 87 05 01 00 01 <clock> 01. */
const payloadHex = (payload: unknown) => hex(codec.encode(unicast(payload))).slice(14);

describe("CBOR encoding", () => {
  test("integers above 2^32 are major type 0 with an 8-byte argument, not float64", () => {
    assert.equal(hex(codec.encode({ type: "ack", seq: 0, ack: 2 ** 32 })), "8308001b0000000100000000");
    assert.equal(hex(codec.encode(unicast(null, 2 ** 53 - 1))).slice(10, 28), "1b001fffffffffffff");
    assert.equal(payloadHex(2 ** 40), "1b0000010000000000");
    assert.equal(payloadHex(-(2 ** 40)), "3b000000ffffffffff");
    assert.equal(
      payloadHex([2 ** 33, { n: -(2 ** 33) - 1 }]),
      "821b0000000200000000a1616e3b0000000200000000",
    );
  });

  test("integers use the shortest head", () => {
    const cases: [number, string][] = [
      [0, "00"],
      [23, "17"],
      [24, "1818"],
      [255, "18ff"],
      [256, "190100"],
      [65535, "19ffff"],
      [65536, "1a00010000"],
      [2 ** 32 - 1, "1affffffff"],
      [2 ** 32, "1b0000000100000000"],
      [-1, "20"],
      [-24, "37"],
      [-25, "3818"],
      [-(2 ** 32), "3affffffff"],
      [-(2 ** 32) - 1, "3b0000000100000000"],
    ];
    for (const [n, expected] of cases) assert.equal(payloadHex(n), expected, String(n));
  });

  test("maps have preferred-length heads", () => {
    assert.equal(payloadHex({ a: 1 }), "a1616101");
    assert.equal(payloadHex({}), "a0");
    const keys = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`k${i}`, 0]));
    assert.equal(payloadHex(keys).slice(0, 4), "b818");
  });

  test("non-integers are float64; -0 is written as 0", () => {
    assert.equal(payloadHex(0.5), "fb3fe0000000000000");
    assert.equal(payloadHex(2 ** 60), "fb43b0000000000000");
    assert.equal(payloadHex(Number.NaN), "fb7ff8000000000000");
    assert.equal(payloadHex(-0), "00");
  });

  test("byte strings are untagged, from Uint8Array and its subclasses", () => {
    assert.equal(payloadHex(new Uint8Array([1, 2])), "420102");
    assert.equal(payloadHex(Buffer.from([1, 2])), "420102");
    assert.equal(payloadHex(new Uint8Array(new ArrayBuffer(8), 2, 3)), "43000000");
  });

  test("no frame ever contains a tag, an indefinite length or undefined", () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        // a decode of the output passes the profile check, which refuses all three
        codec.decode(codec.encode(frame));
      }),
      fcParams,
    );
  });

  test("encode returns a plain Uint8Array, and earlier results are never overwritten", () => {
    const first = codec.encode({ type: "ack", seq: 0, ack: 1 });
    assert.equal(Object.getPrototypeOf(first), Uint8Array.prototype);
    for (let i = 0; i < 2000; i++) codec.encode(unicast("x".repeat(i % 50)));
    assert.equal(hex(first), "83080001");
  });
});

describe("CBOR decoding", () => {
  test("byte strings decode to plain Uint8Arrays that own their memory", () => {
    const input = Buffer.from("87050100010101420102", "hex");
    const frame = codec.decode(input) as Extract<Frame, { type: "unicast" }>;
    assert.equal(Object.getPrototypeOf(frame.payload), Uint8Array.prototype);
    input[8] = 9; // the transport reuses its receive buffer
    assert.deepStrictEqual(frame.payload, new Uint8Array([1, 2]));
  });

  test("a view into a larger buffer decodes only its own bytes", () => {
    const backing = fromHex("ff83080005ff");
    assert.deepStrictEqual(codec.decode(backing.subarray(1, 5)), { type: "ack", seq: 0, ack: 5 });
  });

  test("maps decode to ordinary objects", () => {
    const frame = codec.decode(fromHex("87050100010101a1616101")) as Extract<Frame, { type: "unicast" }>;
    assert.equal(Object.getPrototypeOf(frame.payload), Object.prototype);
  });
});

describe("frame table", () => {
  test("codes are unique and in spec order, and match FrameSchema's members", () => {
    const codes = Object.values(FRAME_CODES);
    assert.deepStrictEqual(
      codes,
      [...codes].sort((a, b) => a - b),
    );
    assert.equal(new Set(codes).size, codes.length);
    fc.assert(
      fc.property(anyFrame, (frame) => {
        // The type is the array's first item: one byte below 24, else 0x18 and one byte.
        const bytes = codec.encode(frame);
        assert.equal(bytes[1] === 0x18 ? bytes[2] : bytes[1], FRAME_CODES[frame.type]);
        assert.ok(FrameSchema.safeParse(frame).success);
      }),
      fcParams,
    );
  });
});

describe("optional trailing fields", () => {
  const reject = { type: "reject", seq: 4, ack: 2, event: 9, code: "E_NO_HANDLE" } as const;

  test("a reject without its node is the two-field form an older peer writes, and reads back so", () => {
    const bytes = codec.encode(reject);
    assert.equal(hex(bytes).slice(0, 2), "85");
    assert.equal(hex(codec.encode({ ...reject, node: undefined })), hex(bytes));
    assert.deepStrictEqual(codec.decode(bytes), reject);
  });

  test("a reject with its node has one more element", () => {
    const bytes = codec.encode({ ...reject, node: 2 });
    assert.equal(hex(bytes), `86${hex(codec.encode(reject)).slice(2)}02`);
    assert.deepStrictEqual(codec.decode(bytes), { ...reject, node: 2 });
  });

  test("a hello's wall clock is an optional last element; a v1 hello had none", () => {
    const hello: Frame = {
      type: "hello",
      seq: 0,
      ack: 0,
      versions: [2],
      peer: "a",
      key: new Uint8Array(0),
      nonce: new Uint8Array(16),
      session: new Uint8Array(0),
    };
    assert.equal(hex(codec.encode(hello)).slice(0, 2), "88");
    const timed = codec.encode({ ...hello, time: 1_767_225_600_000 });
    assert.equal(hex(timed).slice(0, 2), "89");
    assert.deepStrictEqual(codec.decode(timed), { ...hello, time: 1_767_225_600_000 });
  });

  test("a frame type without optional fields still refuses one more element", () => {
    assert.throws(
      () => codec.encode({ type: "abort", seq: 1, ack: 0, event: 1, node: 2 } as never),
      (e: unknown) => e instanceof WireError && e.code === "E_SCHEMA",
    );
  });
});
