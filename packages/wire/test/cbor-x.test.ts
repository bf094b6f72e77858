/**
 * The codec encodes with cbor-x (src/codec.ts) but reads frames with its own one-pass profile
 * reader (src/profile.ts), which checks the strict profile and builds the value together.
 * cbor-x's decoder, with the options below, is the reader's reference: for the bytes of every
 * frame type, and for the non-preferred forms a decoder must accept (float16/float32), the
 * reader builds the values cbor-x builds. The encode side is held to cbor-x given the frame's
 * `[code, seq, ack, ...fields]` tuple by a separate Encoder, and to cbor-x's slab staying as it
 * was written (the codec returns views of it).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodePayload, FRAME_CODES, type Frame, FrameCodec } from "@capbus/wire";
import { encode as cborEncode, Encoder } from "cbor-x";
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
  hello: ["versions", "peer", "key", "nonce", "session", "time", "batches"],
  auth: ["sig"],
  endpoints: ["peer", "urls"],
  claim: ["event", "secret"],
  granted: ["event", "node"],
  stage: ["event", "clock", "nodes", "payload", "handles", "receivers"],
  propose: ["event", "lamport"],
  commit: ["event", "lamport", "dead", "sig"],
  abort: ["event"],
  unicast: ["event", "clock", "node", "payload", "accepted"],
  accept: ["event", "lamport"],
  reject: ["event", "code", "node"],
  ack: [],
  close: ["code", "reason"],
  notice: ["event", "clock", "nodes", "receivers"],
  dead: ["event", "lamport", "nodes"],
  destroy: ["event", "clock", "nodes"],
  release: ["event", "clock", "node", "count", "holder"],
  unicasts: ["event", "clock", "to", "payloads", "accepted"],
  accepts: ["event", "count", "lamport", "refusals", "more"],
  stages: ["event", "clock", "events", "targets", "payloads", "groups", "receivers"],
  proposals: ["event", "lamport", "refusals", "destroyed", "more"],
  commits: ["event", "lamport", "events", "sig", "last", "skip"],
  query: ["sender", "event"],
  committed: ["sender", "event", "lamport", "dead", "sig", "first", "last", "skip"],
  fenced: ["sender", "event"],
  gone: ["sender", "event"],
};

/** The frame as the tuple cbor-x is given: `[code, seq, ack, ...fields]`, handle refs as pairs. */
function tuple(frame: Frame): unknown[] {
  return widen(plainTuple(frame)) as unknown[];
}

/** The tuple with numbers as numbers: what cbor-x's decoder builds from a frame's bytes. */
function plainTuple(frame: Frame): unknown[] {
  const fields = frame as unknown as Record<string, unknown>;
  const out: unknown[] = [FRAME_CODES[frame.type], frame.seq, frame.ack];
  for (const name of FIELDS[frame.type]!) {
    const value = fields[name];
    if (value === undefined) break;
    if (name === "handles" || name === "dead") {
      out.push((value as { owner: string; node: number }[]).map((h) => [h.owner, h.node]));
    } else out.push(value);
  }
  return out;
}

test("the reader builds what cbor-x's decoder builds, for every frame type", () => {
  const codec = new FrameCodec();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      const bytes = codec.encode(frame);
      assert.deepStrictEqual(plainTuple(codec.decode(bytes)), reference.decode(bytes));
    }),
    fcParams,
  );
});

test("the codec writes what cbor-x writes for the frame's tuple, for every frame type", () => {
  const codec = new FrameCodec();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      assert.equal(hex(codec.encode(frame)), hex(reference.encode(tuple(frame))));
    }),
    fcParams,
  );
});

test("a payload encoded once and spliced into frames gives cbor-x's bytes for the whole frame", () => {
  const codec = new FrameCodec();
  const frameOf = fc.array(payload, { minLength: 1, maxLength: 4 }).chain((payloads) =>
    fc.constantFrom<Frame>(
      {
        type: "stages",
        seq: 70000,
        ack: 2 ** 40,
        event: 4,
        clock: 2 ** 51 + 3,
        events: payloads.map((_, i) => 4 + i),
        targets: payloads.map(() => [1, 2]),
        payloads,
      },
      {
        type: "stage",
        seq: 1,
        ack: 0,
        event: 9,
        clock: 7,
        nodes: [1],
        payload: payloads[0],
        handles: [{ owner: "B", node: 3 }],
        receivers: ["B", "C"],
      },
    ),
  );
  fc.assert(
    fc.property(frameOf, (frame) => {
      // Encoded once at the deeper place (a stages frame's, depth 3): valid in a stage frame too.
      const once = (p: unknown) => encodePayload(p, 3);
      const spliced =
        frame.type === "stages"
          ? { ...frame, payloads: frame.payloads.map(once) }
          : { ...frame, payload: frame.type === "stage" ? once(frame.payload) : undefined };
      const written = hex(codec.encode(spliced as Frame));
      assert.equal(written, hex(reference.encode(tuple(frame))));
      assert.equal(written, hex(codec.encode(frame)));
    }),
    fcParams,
  );
});

type Stage = { event: number; clock: number; nodes: number[]; payload: unknown };
type Ref = { owner: string; node: number };

test("a multicast's stage frames (payload encoded once, lists shared) are cbor-x's bytes", () => {
  const codec = new FrameCodec();
  const stage = fc.record({
    event: fc.nat(),
    clock: fc.maxSafeNat(),
    nodes: fc.uniqueArray(fc.maxSafeNat(), { minLength: 1, maxLength: 4 }),
    payload,
  });
  const refs = fc.array(fc.record({ owner: fc.constantFrom("A", "B", "peer-C"), node: fc.maxSafeNat() }), {
    maxLength: 3,
  });
  const ids = fc.array(fc.constantFrom("A", "B", "peer-C", "D".repeat(43)), { maxLength: 9 });
  // Frames of one multicast share their lists; the next multicast has new ones.
  const multicast = fc.record({
    frames: fc.array(stage, { minLength: 1, maxLength: 4 }),
    handles: refs,
    receivers: ids,
  });
  const check = (f: Stage, seq: number, handles: Ref[], receivers: string[]) => {
    const body = { type: "stage" as const, ...f, payload: encodePayload(f.payload, 2), handles, receivers };
    const frame = { ...f, type: "stage" as const, seq: seq + 1, ack: seq, handles, receivers } as Frame;
    assert.equal(hex(codec.encodeOwn(body, seq + 1, seq)), hex(reference.encode(tuple(frame))));
  };
  fc.assert(
    fc.property(
      fc.array(multicast, { minLength: 1, maxLength: 3 }),
      fc.nat({ max: 2 ** 53 - 2 }),
      (casts, seq) => {
        for (const { frames, handles, receivers } of casts) {
          for (const f of frames) check(f, seq, handles, receivers);
          // The same lists changed in place are written as they are now.
          const first = frames[0] as Stage;
          receivers.reverse().push("E");
          check(first, seq, handles, receivers);
          handles.push({ owner: "A", node: 1 });
          check(first, seq, handles, receivers);
        }
      },
    ),
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

test("edge values are written as cbor-x writes them: -0, NaN, long and wide strings, big maps", () => {
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

test("encoded frames stay as written: cbor-x's slab is not rewritten by later encodes", () => {
  const codec = new FrameCodec({ maxFrameBytes: 64 * 1024 });
  const unicast = (payload: unknown): Frame =>
    ({ type: "unicast", seq: 1, ack: 0, event: 1, clock: 2, node: 3, payload }) as Frame;
  const kept = Array.from({ length: 200 }, (_, i) => {
    const frame = unicast({ i, text: "y".repeat(i) });
    const written = hex(reference.encode(tuple(frame)));
    return { bytes: codec.encode(frame), hex: written };
  });
  for (let i = 0; i < 3000; i++) {
    // Other users of cbor-x share its slab; refused frames leave bytes behind in it; a large
    // frame makes cbor-x move to a larger slab.
    cborEncode({ other: i });
    assert.throws(() => codec.encode(unicast([1, 2, undefined])), { code: "E_PAYLOAD" });
    assert.throws(() => codec.encode(unicast(new Uint8Array(70_000))), { code: "E_TOO_LARGE" });
    codec.encode(unicast(i % 500 === 0 ? new Uint8Array(60_000) : { i }));
  }
  for (const { bytes, hex: written } of kept) assert.equal(hex(bytes), written);
});
