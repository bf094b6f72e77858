import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assertPayload,
  DECODED_COST,
  decodeFrame,
  type Frame,
  FrameCodec,
  WireError,
  WireErrorCode,
} from "@capbus/wire";
import fc from "fast-check";
import { anyFrame, fcParams, fromHex } from "./arbitraries.js";

/** A valid unauthenticated hello (spec/wire.md §5.1). */
const hello = {
  type: "hello",
  seq: 0,
  ack: 0,
  versions: [2],
  peer: "a",
  key: new Uint8Array(0),
  nonce: new Uint8Array(16),
  session: new Uint8Array(0),
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WireError, `not a WireError: ${String(error)}`);
    return error.code;
  }
  assert.fail("did not throw");
}

describe("WireError", () => {
  test("has a stable name, a code and a cause", () => {
    const cause = new Error("inner");
    const error = new WireError(WireErrorCode.E_CBOR, "x", { cause });
    assert.equal(error.name, "WireError");
    assert.equal(WireError.name, "WireError");
    assert.equal(error.code, "E_CBOR");
    assert.equal(error.cause, cause);
    assert.ok(error instanceof Error);
  });

  test("every code's value is its key", () => {
    for (const [key, value] of Object.entries(WireErrorCode)) assert.equal(key, value);
  });
});

describe("decode refusals", () => {
  const codec = new FrameCodec();

  test("every strict prefix of a valid frame is E_CBOR", () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        const bytes = codec.encode(frame);
        for (let end = 0; end < bytes.length; end++) {
          assert.equal(
            codeOf(() => codec.decode(bytes.subarray(0, end))),
            "E_CBOR",
            `prefix ${end}`,
          );
        }
      }),
      { ...fcParams, numRuns: 100 },
    );
  });

  test("a valid frame followed by any byte is E_CBOR", () => {
    fc.assert(
      fc.property(anyFrame, fc.uint8Array({ minLength: 1, maxLength: 3 }), (frame, extra) => {
        const bytes = codec.encode(frame);
        const longer = new Uint8Array(bytes.length + extra.length);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        assert.equal(
          codeOf(() => codec.decode(longer)),
          "E_CBOR",
        );
      }),
      fcParams,
    );
  });

  test("random bytes never throw anything but WireError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = codec.decodeFrame(bytes);
        if (!result.ok) assert.ok(result.error instanceof WireError);
      }),
      { ...fcParams, numRuns: 5000 },
    );
  });

  test("mutated valid frames never throw anything but WireError", () => {
    fc.assert(
      fc.property(anyFrame, fc.nat(), fc.integer({ min: 0, max: 255 }), (frame, at, value) => {
        const bytes = codec.encode(frame).slice();
        bytes[at % bytes.length] = value;
        const result = codec.decodeFrame(bytes);
        if (!result.ok) assert.ok(result.error instanceof WireError);
      }),
      { ...fcParams, numRuns: 3000 },
    );
  });

  test("the size limit is checked before decoding", () => {
    // 0xff is not well-formed, yet an oversized frame of it reports E_TOO_LARGE
    const small = new FrameCodec({ maxFrameBytes: 4 });
    assert.equal(
      codeOf(() => small.decode(new Uint8Array(5).fill(0xff))),
      "E_TOO_LARGE",
    );
    assert.equal(
      codeOf(() => small.decode(new Uint8Array(4).fill(0xff))),
      "E_CBOR",
    );
    assert.equal(small.decode(fromHex("83080000")).type, "ack");
  });

  test("default limits", () => {
    const codec = new FrameCodec();
    assert.deepStrictEqual(codec.limits, {
      maxFrameBytes: 16 * 1024 * 1024,
      maxDepth: 64,
      maxDecodedBytes: 16.5 * 1024 * 1024,
    });
    assert.throws(() => new FrameCodec({ maxFrameBytes: 0 }), RangeError);
    assert.throws(() => new FrameCodec({ maxDepth: 1.5 }), RangeError);
  });

  test("nesting at the depth limit passes, one deeper is E_TOO_LARGE", () => {
    const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
    const frame = (payload: unknown): Frame => ({
      type: "unicast",
      seq: 1,
      ack: 0,
      event: 1,
      clock: 1,
      node: 1,
      payload,
    });
    const codec = new FrameCodec({ maxDepth: 10 });
    const big = new FrameCodec({ maxDepth: 20 });
    // the frame array is depth 1, so 9 payload arrays reach depth 10
    assert.deepStrictEqual(codec.decode(codec.encode(frame(nest(9)))), frame(nest(9)));
    assert.equal(
      codeOf(() => codec.encode(frame(nest(10)))),
      "E_PAYLOAD",
    );
    assert.equal(
      codeOf(() => codec.decode(big.encode(frame(nest(10))))),
      "E_TOO_LARGE",
    );
  });

  test("deep hostile nesting is refused without exhausting the stack", () => {
    const bytes = new Uint8Array(100_000).fill(0x81);
    assert.equal(
      codeOf(() => new FrameCodec().decode(bytes)),
      "E_TOO_LARGE",
    );
  });

  test("decodeFrame returns the frame or the error", () => {
    const ok = decodeFrame(fromHex("83080005"));
    // An array of three numbers: the frame object, the array and three numbers (DECODED_COST).
    assert.deepStrictEqual(ok, { ok: true, frame: { type: "ack", seq: 0, ack: 5 }, decodedBytes: 280 });
    const bad = decodeFrame(fromHex("830e0000"));
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.code, "E_UNKNOWN_FRAME");
    const large = decodeFrame(fromHex("83080005"), { maxFrameBytes: 3 });
    assert.equal(large.ok ? undefined : large.error.code, "E_TOO_LARGE");
  });
});

describe("encode refusals", () => {
  const codec = new FrameCodec();
  const unicast = (payload: unknown): Frame => ({
    type: "unicast",
    seq: 1,
    ack: 0,
    event: 1,
    clock: 1,
    node: 1,
    payload,
  });
  const encode = (frame: unknown) => () => codec.encode(frame as Frame);

  test("frames that do not match their schema are E_SCHEMA", () => {
    assert.equal(codeOf(encode(null)), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "nope", seq: 1, ack: 0 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "ack", seq: 1, ack: 0 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "ack", seq: 0, ack: -1 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "ack", seq: 0, ack: 2 ** 53 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "ack", seq: 0, ack: 0.5 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "ack", seq: 0, ack: 0, extra: 1 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "abort", seq: 0, ack: 0, event: 1 })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "close", seq: 0, ack: 0, code: "OK", reason: "\ud800" })), "E_SCHEMA");
    assert.equal(codeOf(encode({ type: "close", seq: 0, ack: 0, code: "ok", reason: "" })), "E_SCHEMA");
    const stage = { type: "stage", seq: 1, ack: 0, event: 1, clock: 1, payload: null, handles: [] };
    assert.equal(codeOf(encode({ ...stage, nodes: [1, 1] })), "E_SCHEMA");
    assert.equal(codeOf(encode({ ...stage, nodes: [] })), "E_SCHEMA");
    assert.equal(codeOf(encode({ ...stage, nodes: [1], handles: [{ owner: "", node: 1 }] })), "E_SCHEMA");
    assert.equal(codeOf(encode({ ...hello, peer: "a".repeat(129) })), "E_SCHEMA");
  });

  test("a hello without version 2 (a v1-only peer) is E_VERSION", () => {
    assert.equal(codeOf(encode({ ...hello, versions: [1] })), "E_VERSION");
    assert.equal(codeOf(encode({ ...hello, seq: 1 })), "E_SCHEMA", "hello is unsequenced");
  });

  test("payload values outside the data model are E_PAYLOAD", () => {
    class Point {
      x = 1;
    }
    const sparse: unknown[] = [];
    sparse[1] = 1;
    const bad: unknown[] = [
      undefined,
      { a: undefined },
      [undefined],
      sparse,
      new Map(),
      new Set([1]),
      new Date(0),
      new Point(),
      new Uint16Array(1),
      new ArrayBuffer(1),
      1n,
      Symbol("s"),
      () => 1,
      "\udc00",
      { "\ud800": 1 },
      JSON.parse('{"__proto__": 1}'),
    ];
    for (const value of bad) {
      assert.equal(codeOf(encode(unicast(value))), "E_PAYLOAD", String(typeof value));
      assert.equal(
        codeOf(() => assertPayload(value)),
        "E_PAYLOAD",
      );
    }
  });

  test("a cyclic payload is E_PAYLOAD, not a stack overflow", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.equal(codeOf(encode(unicast(cycle))), "E_PAYLOAD");
  });

  test("a frame larger than maxFrameBytes is E_TOO_LARGE", () => {
    const small = new FrameCodec({ maxFrameBytes: 100 });
    assert.equal(
      codeOf(() => small.encode(unicast("x".repeat(100)))),
      "E_TOO_LARGE",
    );
    assert.equal(small.encode(unicast("x".repeat(80))).length, 82 + 7);
  });

  test("assertPayload accepts the data model", () => {
    assertPayload({ a: [1, -2.5, "s", true, null, new Uint8Array(2), { b: {} }], "": Object.create(null) });
  });
});

describe("limits beyond the stack", () => {
  test("a maxDepth the stack cannot hold still yields WireErrors", () => {
    const codec = new FrameCodec({ maxDepth: 10_000_000 });
    let deep: unknown = 1;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    const frame: Frame = { type: "unicast", seq: 1, ack: 0, event: 1, clock: 1, node: 1, payload: deep };
    assert.equal(
      codeOf(() => codec.encode(frame)),
      "E_PAYLOAD",
    );
    const bytes = new Uint8Array(1_000_010).fill(0x81);
    bytes.set([0x87, 0x05, 0x01, 0x00, 0x01, 0x01, 0x01]);
    bytes[bytes.length - 1] = 0x01;
    assert.equal(
      codeOf(() => codec.decode(bytes)),
      "E_TOO_LARGE",
    );
  });
});

describe("map keys in large payload maps (hashed, spec/security.md)", () => {
  const codec = new FrameCodec();
  const unicast = (payload: unknown): Frame => ({
    type: "unicast",
    seq: 1,
    ack: 0,
    event: 1,
    clock: 1,
    node: 1,
    payload,
  });
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${String(i).padStart(6, "0")}`);

  test("a duplicate key anywhere in a large map is E_CBOR; distinct keys pass", () => {
    for (const n of [17, 100, 5000]) {
      const names = keys(n);
      const bytes = codec.encode(unicast(Object.fromEntries(names.map((k) => [k, 0]))));
      const decoded = codec.decode(bytes);
      assert.ok(decoded.type === "unicast");
      assert.equal(Object.keys(decoded.payload as object).length, n);
      // Rename the last key to the first one's name, in the bytes (same length): a duplicate.
      const last = Buffer.from(bytes).lastIndexOf(Buffer.from(names.at(-1)!));
      const dup = bytes.slice();
      dup.set(Buffer.from(names[0]!), last);
      assert.equal(
        codeOf(() => codec.decode(dup)),
        "E_CBOR",
        `${n} keys`,
      );
    }
  });

  test("every entry of a map is charged to the decoded size, small and large maps alike", () => {
    for (const n of [4, 16, 17, 1000]) {
      const payload = Object.fromEntries(keys(n).map((k) => [k, 0]));
      const result = codec.decodeFrame(codec.encode(unicast(payload)));
      assert.ok(result.ok);
      assert.ok(result.decodedBytes >= n * DECODED_COST.entry, `${n} entries: ${result.decodedBytes}`);
    }
  });

  test("a map claiming more entries than its bytes can hold is refused before any table is sized", () => {
    const bytes = codec.encode(unicast({}));
    assert.equal(bytes.at(-1), 0xa0, "the payload, an empty map, is the frame's last byte");
    // The same map claiming 2^32 - 1 entries, with nothing after its head.
    const claim = Uint8Array.from([...bytes.subarray(0, bytes.length - 1), 0xba, 0xff, 0xff, 0xff, 0xff]);
    assert.equal(
      codeOf(() => codec.decode(claim)),
      "E_CBOR",
    );
  });
});

describe("maxDecodedBytes (spec/wire.md §8)", () => {
  const unicast = (payload: unknown): Frame => ({
    type: "unicast",
    seq: 1,
    ack: 0,
    event: 1,
    clock: 1,
    node: 1,
    payload,
  });
  // An encoder with no practical bound builds what a hostile peer would send.
  const hostile = new FrameCodec({ maxDecodedBytes: Number.MAX_SAFE_INTEGER });
  const emptyMaps = (n: number) => hostile.encode(unicast(Array.from({ length: n }, () => ({}))));

  test("a frame of empty maps decoding beyond the default is refused with E_TOO_LARGE in the scan", () => {
    const codec = new FrameCodec();
    // 300 000 empty maps: 300 KB on the wire, over 21 MB decoded (72 bytes each by DECODED_COST).
    const bytes = emptyMaps(300_000);
    assert.ok(bytes.byteLength < 310_000);
    const result = codec.decodeFrame(bytes);
    assert.ok(!result.ok && result.error.code === "E_TOO_LARGE", JSON.stringify(result.ok));
    // Refused while scanning, before the end: a profile error after that point is not reached
    // (the scan, not cbor-x, saw the frame; cbor-x never decodes a frame the scan refuses).
    const broken = bytes.slice();
    broken[broken.length - 1] = 0xdf; // a reserved head in the last map: E_CBOR if scanned
    assert.equal(
      codeOf(() => codec.decode(broken)),
      "E_TOO_LARGE",
    );
    // Within the bound, the same kind of frame is decoded, and its decoded size reported.
    const small = codec.decodeFrame(emptyMaps(1000));
    assert.ok(small.ok && small.decodedBytes <= new FrameCodec().limits.maxDecodedBytes);
  });

  test("the bound is per codec, exact, and applies to what a codec encodes", () => {
    const frame = unicast(Array.from({ length: 100 }, () => ({})));
    const { decodedBytes } = hostile.decodeFrame(hostile.encode(frame)) as { decodedBytes: number };
    const exact = new FrameCodec({ maxDecodedBytes: decodedBytes });
    assert.ok(exact.decodeFrame(hostile.encode(frame)).ok, "a frame at the bound passes");
    const below = new FrameCodec({ maxDecodedBytes: decodedBytes - 1 });
    assert.equal(
      codeOf(() => below.decode(hostile.encode(frame))),
      "E_TOO_LARGE",
    );
    assert.equal(
      codeOf(() => below.encode(frame)),
      "E_TOO_LARGE",
      "a peer never sends what it would itself refuse",
    );
    assert.ok(exact.encode(frame).byteLength > 0);
    assert.throws(() => new FrameCodec({ maxDecodedBytes: 0 }), RangeError);
  });
});
