/**
 * Hostile-frame generators for the fuzz tests. Each declares the code the victim must close the
 * link with ("*": any code, and a frame that happens to be valid may leave the link up).
 */
import { type Frame, FrameCodec } from "@capbus/wire";
import fc from "fast-check";
import { anyFrame, frames, peerId, uint } from "../../packages/wire/test/arbitraries.js";
import { type Cbor, encodeCbor, FIELDS, frameTuple, RawCbor } from "./fuzz-cbor.js";
import { type Attack, helloBytes, type VictimState } from "./fuzz-victim.js";

const codec = new FrameCodec();
const MAX = Number.MAX_SAFE_INTEGER;
/**
 * H2's limits at the victim (spec/ordering.md §2, the default offsets): values up to
 * (wall + 5000 ms) × 2^11 apply at once, values above (wall + 35000 ms) × 2^11 close the link. A
 * second of slack covers the victim's wall clock moving on before the frame arrives.
 */
const adoptLimit = (s: VictimState) => (s.wallMs + 5_000) * 2 ** 11;
const refuseLimit = (s: VictimState) => (s.wallMs + 35_000 + 1_000) * 2 ** 11;

export interface Generator {
  readonly name: string;
  /** The code every attack must close the link with; "*" for any. */
  readonly expect: string;
  /** Share of the fuzz budget. */
  readonly weight: number;
  readonly attacks: fc.Arbitrary<Attack>;
}

type FrameType = Frame["type"];
const UNSEQUENCED: ReadonlySet<FrameType> = new Set(["hello", "auth", "ack", "close"]);
const ALL_TYPES = Object.keys(frames) as FrameType[];
const SEQUENCED_TYPES = ALL_TYPES.filter((t) => !UNSEQUENCED.has(t));

/** A valid frame of one of `types`. */
const frameOf = (types: readonly FrameType[]): fc.Arbitrary<Frame> =>
  fc.oneof(...types.map((t) => frames[t] as fc.Arbitrary<Frame>));

/** A valid sequenced frame renumbered to `seq` with `ack`. */
const renumbered = (types: readonly FrameType[], seq: fc.Arbitrary<number>, ack: fc.Arbitrary<number>) =>
  fc.tuple(frameOf(types), seq, ack).map(([f, s, a]) => ({ ...f, seq: s, ack: a }) as Frame);

const fixed = (bytes: Uint8Array): Attack => ({ frame: () => bytes });

// ---- malformed bytes -------------------------------------------------------------------------

const truncated: Generator = {
  name: "truncated frame",
  expect: "E_CBOR",
  weight: 7,
  attacks: fc.tuple(anyFrame, fc.nat()).map(([frame, cut]) => {
    const bytes = codec.encode(frame);
    return fixed(bytes.slice(0, cut % bytes.length));
  }),
};

const trailing: Generator = {
  name: "trailing bytes",
  expect: "E_CBOR",
  weight: 4,
  attacks: fc.tuple(anyFrame, fc.uint8Array({ minLength: 1, maxLength: 9 })).map(([frame, extra]) => {
    const bytes = codec.encode(frame);
    const out = new Uint8Array(bytes.length + extra.length);
    out.set(bytes);
    out.set(extra, bytes.length);
    return fixed(out);
  }),
};

/** A value of the wrong kind for a field currently holding `value`. */
function wrongFor(value: Cbor, pick: number): Cbor {
  const float64 = (x: number) => {
    const b = new Uint8Array(9);
    b[0] = 0xfb;
    new DataView(b.buffer).setFloat64(1, x);
    return new RawCbor(b);
  };
  if (typeof value === "number") {
    const wrong: Cbor[] = [
      String(value),
      Uint8Array.of(value & 0xff),
      [value],
      { n: value },
      true,
      null,
      (value % 1000) + 0.5,
      -1 - (value % 1000),
      float64(value), // integral, but a float outside the payload
      new RawCbor(Uint8Array.of(0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0)), // 2^53: beyond uint53
    ];
    return wrong[pick % wrong.length]!;
  }
  if (typeof value === "string") {
    const wrong: Cbor[] = [value.length, new TextEncoder().encode(value), null, [value], false];
    return wrong[pick % wrong.length]!;
  }
  if (value instanceof Uint8Array) {
    const wrong: Cbor[] = ["bytes", value.length, [...value.subarray(0, 3)], null];
    return wrong[pick % wrong.length]!;
  }
  if (Array.isArray(value)) {
    const list = value as readonly Cbor[];
    const wrong: Cbor[] = [list.length, "list", { list: 1 }, new Uint8Array(2), null];
    // Or one element of the list of the wrong kind.
    if (list.length > 0)
      wrong.push(list.map((item, i) => (i === pick % list.length ? wrongFor(item, pick) : item)));
    return wrong[pick % wrong.length]!;
  }
  return 0;
}

const mutated: Generator = {
  name: "field of the wrong type",
  expect: "E_SCHEMA",
  weight: 8,
  attacks: fc.tuple(anyFrame, fc.nat(), fc.nat()).map(([frame, at, pick]) => {
    const tuple = frameTuple(frame);
    // A payload (or a batch's list of payloads) may hold anything: no wrong type to put there.
    const fields = FIELDS[frame.type];
    const payloadAt = fields.includes("payload") ? fields.indexOf("payload") : fields.indexOf("payloads");
    const slots = [...tuple.keys()].filter((i) => payloadAt < 0 || i !== payloadAt + 3);
    const i = slots[at % slots.length]!;
    tuple[i] = wrongFor(tuple[i]!, pick);
    return fixed(encodeCbor(tuple));
  }),
};

// 25-28 are the reconciliation frames (spec/wire.md §5.24): the first unused code is 29.
const unknownCode = fc.oneof(
  fc.constantFrom(14, 15, 29, 30, 255, 256, 65535, 2 ** 32, MAX),
  fc.integer({ min: 29, max: MAX }),
);
const loose: fc.Arbitrary<Cbor> = fc.oneof(
  uint,
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }),
  fc.array(uint, { maxLength: 3 }),
  fc.double({ noNaN: true }),
);
const unknownType: Generator = {
  name: "unknown frame type",
  expect: "E_UNKNOWN_FRAME",
  weight: 5,
  attacks: fc
    .tuple(unknownCode, fc.array(loose, { maxLength: 8 }))
    .map(([code, rest]) => fixed(encodeCbor([code, ...rest]))),
};

const oversize: Generator = {
  name: "frame above maxFrameBytes",
  expect: "E_TOO_LARGE",
  weight: 5,
  attacks: fc.oneof(
    fc.integer({ min: 513, max: 4096 }).map(
      (n): Attack => ({
        limits: { maxFrameBytes: 512 },
        frame: (s) =>
          codec.encode({
            type: "unicast",
            seq: 1,
            ack: 0,
            event: 1,
            clock: 0,
            node: s.node,
            payload: "x".repeat(n),
          }),
      }),
    ),
    // Garbage is refused by its size before anything else.
    fc
      .uint8Array({ minLength: 513, maxLength: 1024 })
      .map((b): Attack => ({ ...fixed(b), limits: { maxFrameBytes: 512 } })),
  ),
};

/** `depth` arrays inside each other around a payload value. */
const nested = (depth: number, inner: unknown): unknown => {
  let value = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
const tooDeep: Generator = {
  name: "nesting above maxDepth",
  expect: "E_TOO_LARGE",
  weight: 3,
  attacks: fc.oneof(
    fc
      .integer({ min: 8, max: 40 })
      .map((d): Attack => ({ limits: { maxDepth: 8 }, frame: (s) => deepUnicast(s, d) })),
    fc.integer({ min: 64, max: 200 }).map((d): Attack => ({ frame: (s) => deepUnicast(s, d) })),
  ),
};
function deepUnicast(s: VictimState, depth: number): Uint8Array {
  // Written by hand: the codec refuses to encode what it would refuse to decode.
  return encodeCbor([5, 1, 0, 1, 0, s.node, nested(depth, 0) as Cbor]);
}

// ---- valid frames out of protocol state -----------------------------------------------------

/** A clock value the victim applies at once (within the adopt offset of its wall clock). */
const lamportWithin = (s: VictimState, x: number) => x % (adoptLimit(s) + 1);

const unknownCommit: Generator = {
  name: "commit for an event never staged",
  expect: "E_PROTOCOL",
  weight: 5,
  attacks: frames.commit.map((f) => ({
    frame: (s: VictimState) => codec.encode({ ...f, seq: 1, ack: 0, lamport: lamportWithin(s, f.lamport) }),
  })),
};

const foreignAnswer: Generator = {
  name: "answer for an event sent to another peer",
  expect: "E_PROTOCOL",
  weight: 5,
  attacks: frameOf(["propose", "accept", "dead", "reject"]).map((f) => ({
    frame: (s: VictimState) =>
      codec.encode({
        ...f,
        seq: 1,
        ack: 0,
        event: s.pending,
        ...("lamport" in f ? { lamport: lamportWithin(s, f.lamport) } : {}),
      } as Frame),
  })),
};

/** Frames opening event `event` of the attacker at V (it holds V/1). */
function opening(
  kind: "stage" | "unicast" | "destroy" | "release",
  s: VictimState,
  seq: number,
  event: number,
) {
  const head = { seq, ack: 0, event, clock: 0 };
  switch (kind) {
    case "stage":
      return codec.encode({
        type: "stage",
        ...head,
        nodes: [s.node],
        payload: "dup",
        handles: [],
        receivers: ["V"],
      });
    case "unicast":
      return codec.encode({ type: "unicast", ...head, node: s.node, payload: "dup" });
    case "destroy":
      return codec.encode({ type: "destroy", ...head, nodes: [1, 2] });
    case "release":
      return codec.encode({ type: "release", ...head, node: s.node, count: 1, holder: s.attacker });
  }
}
const openingKind = fc.constantFrom(
  "stage" as const,
  "unicast" as const,
  "destroy" as const,
  "release" as const,
);
const duplicateEvent: Generator = {
  name: "event number repeated while queued",
  expect: "E_PROTOCOL",
  weight: 5,
  attacks: fc.tuple(openingKind, openingKind, uint).map(([first, again, event]) => ({
    holder: true,
    // A unicast or release is committed on arrival: only a staged round ahead keeps it queued.
    needsQueued: first === "unicast" || first === "release",
    prelude: (s: VictimState) => [opening(first, s, 1, event)],
    frame: (s: VictimState) => opening(again, s, 2, event),
  })),
};

const helloAgain: Generator = {
  name: "hello after the handshake",
  expect: "E_PROTOCOL",
  weight: 3,
  attacks: frames.hello.map((f) => fixed(codec.encode(f))),
};

const ackBeyond: Generator = {
  name: "ack for frames never sent",
  expect: "E_PROTOCOL",
  weight: 5,
  attacks: fc
    .tuple(frameOf(ALL_TYPES.filter((t) => t !== "close" && t !== "hello" && t !== "auth")), uint)
    .map(([f, ack]) => fixed(codec.encode({ ...f, ack: Math.max(1, ack) } as Frame))),
};

const skippedSeq: Generator = {
  name: "sequence number skipped",
  expect: "E_SEQUENCE",
  weight: 6,
  attacks: renumbered(
    SEQUENCED_TYPES,
    uint.filter((n) => n >= 2),
    fc.constant(0),
  ).map((f) => fixed(codec.encode(f))),
};

const clockJump: Generator = {
  name: "clock more than clockRefuseMs ahead of the wall clock",
  expect: "E_CLOCK_SKEW",
  weight: 6,
  attacks: fc
    .tuple(
      frameOf(["stage", "notice", "unicast", "release", "destroy", "commit", "propose", "dead", "accept"]),
      fc.nat(),
    )
    .map(([f, k]) => ({
      frame: (s: VictimState) => {
        const far = refuseLimit(s) + 1 + (k % (MAX - refuseLimit(s)));
        const field = "clock" in f ? "clock" : "lamport";
        return codec.encode({ ...f, seq: 1, ack: 0, [field]: far } as Frame);
      },
    })),
};

// ---- the handshake --------------------------------------------------------------------------

const beforeHello: Generator = {
  name: "frame before hello",
  expect: "E_PROTOCOL",
  weight: 4,
  attacks: frameOf(ALL_TYPES.filter((t) => t !== "hello" && t !== "close")).map(
    (f): Attack => ({ ...fixed(codec.encode(f)), beforeHello: true }),
  ),
};

const wrongPeer: Generator = {
  name: "hello naming another peer than the one dialled",
  expect: "E_WRONG_PEER",
  weight: 2,
  attacks: peerId.map(
    (p): Attack => ({ beforeHello: true, frame: (s) => helloBytes(p === s.attacker ? `${p}-` : p) }),
  ),
};

const badVersion: Generator = {
  name: "hello without version 2",
  expect: "E_VERSION",
  weight: 3,
  attacks: fc
    .tuple(
      fc.uniqueArray(
        uint.filter((v) => v !== 2),
        { minLength: 1, maxLength: 4 },
      ),
      fc.boolean(),
    )
    .map(([versions, first]) => ({
      beforeHello: first,
      frame: (s: VictimState) =>
        encodeCbor([0, 0, 0, versions, s.attacker, new Uint8Array(0), new Uint8Array(16), new Uint8Array(0)]),
    })),
};

// ---- noise ------------------------------------------------------------------------------------

const randomBytes: Generator = {
  name: "random bytes",
  expect: "*",
  weight: 12,
  attacks: fc
    .tuple(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        // Mostly arrays, so the decoder gets past the first byte.
        fc
          .tuple(fc.integer({ min: 0x80, max: 0x9b }), fc.uint8Array({ maxLength: 48 }))
          .map(([h, rest]) => Uint8Array.of(h, ...rest)),
      ),
      fc.boolean(),
    )
    .map(([bytes, first]) => ({ ...fixed(bytes), beforeHello: first })),
};

const flipped: Generator = {
  name: "valid frame with bytes flipped",
  expect: "*",
  weight: 9,
  attacks: fc
    .tuple(
      anyFrame,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    )
    .map(([frame, flips]) => {
      const bytes = codec.encode(frame).slice();
      for (const [at, mask] of flips) {
        const i = at % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ mask;
      }
      return fixed(bytes);
    }),
};

export const GENERATORS: readonly Generator[] = [
  truncated,
  trailing,
  mutated,
  unknownType,
  oversize,
  tooDeep,
  unknownCommit,
  foreignAnswer,
  duplicateEvent,
  helloAgain,
  ackBeyond,
  skippedSeq,
  clockJump,
  beforeHello,
  wrongPeer,
  badVersion,
  randomBytes,
  flipped,
];
