/**
 * The codec writes and reads frames itself (src/writer.ts, src/profile.ts). cbor-x, which it used
 * before, is the reference here: with the codec's former options and integer widening, cbor-x
 * writes the same bytes for every frame, and reads the same values back from them, including
 * from the non-preferred forms a decoder must accept (float16/float32, wide heads).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FRAME_CODES, type Frame, FrameCodec } from "@capbus/wire";
import { Encoder } from "cbor-x";
import fc from "fast-check";
import { anyFrame, fcParams, hex, payload } from "./arbitraries.js";

const reference = new Encoder({
  useRecords: false,
  variableMapSize: true,
  mapsAsObjects: true,
  useTag259ForMaps: false,
  tagUint8Array: false,
  structuredClone: false,
  bundleStrings: false,
  pack: false,
  useSelfDescribedHeader: false,
  useFloat32: 0,
  int64AsNumber: true,
  copyBuffers: true,
} as ConstructorParameters<typeof Encoder>[0]);

/** cbor-x writes integral numbers beyond 32 bits as float64: they go in as BigInt. */
function widen(value: unknown): unknown {
  if (typeof value === "number") {
    return (value > 0xffffffff || value < -0x100000000) && Number.isSafeInteger(value)
      ? BigInt(value)
      : value;
  }
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(widen);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, widen(v)]));
}

const FIELDS: Record<string, readonly string[]> = {
  hello: ["versions", "peer", "key", "nonce", "session", "time"],
  auth: ["sig"],
  endpoints: ["peer", "urls"],
  claim: ["event", "secret"],
  granted: ["event", "node"],
  stage: ["event", "clock", "nodes", "payload", "handles", "receivers"],
  propose: ["event", "lamport"],
  commit: ["event", "lamport", "dead"],
  abort: ["event"],
  unicast: ["event", "clock", "node", "payload"],
  accept: ["event", "lamport"],
  reject: ["event", "code", "node"],
  ack: [],
  close: ["code", "reason"],
  notice: ["event", "clock", "nodes", "receivers"],
  dead: ["event", "lamport", "nodes"],
  destroy: ["event", "clock", "nodes"],
  release: ["event", "clock", "node", "count", "holder"],
};

/** The frame as the tuple cbor-x was given: `[code, seq, ack, ...fields]`, handle refs as pairs. */
function tuple(frame: Frame): unknown[] {
  const fields = frame as unknown as Record<string, unknown>;
  const out: unknown[] = [FRAME_CODES[frame.type], frame.seq, frame.ack];
  for (const name of FIELDS[frame.type]!) {
    const value = fields[name];
    if (value === undefined) break;
    if (name === "handles" || name === "dead") {
      out.push((value as { owner: string; node: number }[]).map((h) => [h.owner, h.node]));
    } else out.push(value);
  }
  return widen(out) as unknown[];
}

test("the codec writes the bytes cbor-x wrote, for every frame type", () => {
  const codec = new FrameCodec();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      assert.equal(hex(codec.encode(frame)), hex(reference.encode(tuple(frame))));
    }),
    fcParams,
  );
});

test("the codec reads what cbor-x reads, floats of every width included", () => {
  const codec = new FrameCodec();
  const float32 = new Encoder({
    useRecords: false,
    variableMapSize: true,
    tagUint8Array: false,
    useFloat32: 1,
  });
  fc.assert(
    fc.property(payload, fc.boolean(), (value, narrow) => {
      const encoder = narrow ? float32 : reference;
      const bytes = encoder.encode([5, 1, 0, 1, 2, 3, widen(value)]);
      // A Buffer subclass: the reader copies byte strings out as plain Uint8Arrays either way.
      const frame = codec.decode(new Uint8Array(bytes));
      assert.deepStrictEqual(
        (frame as { payload: unknown }).payload,
        reference.decode(new Uint8Array(bytes))[6],
      );
    }),
    fcParams,
  );
});

test("a Buffer payload is written as a byte string, a view of a larger buffer by its own bytes", () => {
  const codec = new FrameCodec();
  const whole = Buffer.from("0123456789");
  const frame = {
    type: "unicast",
    seq: 1,
    ack: 0,
    event: 1,
    clock: 2,
    node: 3,
    payload: whole.subarray(2, 5),
  } as const;
  assert.equal(hex(codec.encode(frame)), hex(reference.encode(tuple(frame))));
  assert.deepStrictEqual(
    (codec.decode(codec.encode(frame)) as { payload: unknown }).payload,
    new Uint8Array([50, 51, 52]),
  );
});

test("edge values are written as cbor-x wrote them: -0, NaN, long and wide strings, big maps", () => {
  const codec = new FrameCodec();
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i * 1000]));
  const edges: unknown[] = [
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 53,
    -(2 ** 31) - 1,
    "a".repeat(300),
    "é".repeat(12),
    "€".repeat(100),
    "😀".repeat(30_000),
    "x".repeat(70_000),
    many,
    new Uint8Array(70_000),
  ];
  for (const value of edges) {
    const frame = { type: "unicast", seq: 1, ack: 0, event: 1, clock: 2, node: 3, payload: value } as const;
    assert.equal(hex(codec.encode(frame)), hex(reference.encode(tuple(frame))), String(value).slice(0, 20));
  }
});
