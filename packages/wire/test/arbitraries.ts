/** fast-check arbitraries for every frame type, inside the payload data model. */

import { type Frame, type HandleRef, WIRE_VERSION } from "@capbus/wire";
import fc from "fast-check";

/** Replay a failure with FC_SEED=<seed printed by fast-check>. */
export const fcParams: fc.Parameters<unknown> =
  process.env.FC_SEED === undefined ? { numRuns: 300 } : { numRuns: 300, seed: Number(process.env.FC_SEED) };

const MAX = Number.MAX_SAFE_INTEGER;
/** Biased towards the boundaries where CBOR heads change width. */
export const uint = fc.oneof(
  fc.constantFrom(0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, MAX - 1, MAX),
  fc.nat(),
  fc.integer({ min: 0, max: MAX }),
);
const seq = uint.filter((n) => n >= 1);
/** B7's accepted runs, `[event, count, lamport]`. */
const runs = fc.array(fc.tuple(uint, seq, uint), { minLength: 1, maxLength: 3 });

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
export const peerId = fc.string({ unit: printable, minLength: 1, maxLength: 128 });
const code = fc.oneof(
  fc.constantFrom("OK", "E_NO_NODE", "E_VERSION", "E_CBOR"),
  fc.stringMatching(/^[A-Z][A-Z0-9_]{0,63}$/),
);
const text = fc.string({ unit: "binary", maxLength: 40 });

const int = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(-(2 ** 32), -(2 ** 32) - 1, 2 ** 32, -MAX, MAX),
);
/** -0 is written as 0 (spec §Payload), so it cannot round-trip as itself. */
const float = fc.double().filter((x) => !Object.is(x, -0));
const bytes = fc.uint8Array({ maxLength: 20 });
const key = fc.string({ unit: "binary", maxLength: 8 }).filter((k) => k !== "__proto__");

export const payload: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; array: unknown[]; object: object }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      int,
      float,
      text,
      bytes,
      tie("array"),
      tie("object"),
    ),
    array: fc.array(tie("value"), { maxLength: 4 }),
    object: fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  }),
).value;

/** Frames decode to ordinary objects, so generate ordinary ones (fast-check may pick null prototypes). */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** Payloads of batch frames: the same data model, one level deeper (well within maxDepth). */
const batchPayload = payload;

const handle: fc.Arbitrary<HandleRef> = record({ owner: peerId, node: uint });

export const frames: { readonly [T in Frame["type"]]: fc.Arbitrary<Extract<Frame, { type: T }>> } = {
  hello: fc.record(
    {
      type: fc.constant("hello"),
      seq: fc.constant(0),
      ack: uint,
      versions: fc.array(uint, { maxLength: 4 }).map((v) => [...v, WIRE_VERSION]),
      peer: peerId,
      key: fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 0 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
      ),
      nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      session: fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 0 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
      ),
      time: uint,
    },
    {
      requiredKeys: ["type", "seq", "ack", "versions", "peer", "key", "nonce", "session"],
      noNullPrototype: true,
    },
  ),
  auth: record({
    type: fc.constant("auth"),
    seq: fc.constant(0),
    ack: uint,
    sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  stage: record({
    type: fc.constant("stage"),
    seq,
    ack: uint,
    event: uint,
    clock: uint,
    nodes: fc.uniqueArray(uint, { minLength: 1, maxLength: 5 }),
    payload,
    handles: fc.array(handle, { maxLength: 3 }),
    receivers: fc.array(peerId, { maxLength: 3 }),
  }),
  propose: record({ type: fc.constant("propose"), seq, ack: uint, event: uint, lamport: uint }),
  // `sig` is optional: commits of unicast rounds and unkeyed senders go without it.
  commit: fc.record(
    {
      type: fc.constant("commit"),
      seq,
      ack: uint,
      event: uint,
      lamport: uint,
      dead: fc.array(handle, { maxLength: 3 }),
      sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    },
    { requiredKeys: ["type", "seq", "ack", "event", "lamport", "dead"], noNullPrototype: true },
  ),
  abort: record({ type: fc.constant("abort"), seq, ack: uint, event: uint }),
  // `accepted` is optional (B7): frames with and without it round-trip.
  unicast: fc.record(
    {
      type: fc.constant("unicast"),
      seq,
      ack: uint,
      event: uint,
      clock: uint,
      node: uint,
      payload,
      accepted: runs,
    },
    { requiredKeys: ["type", "seq", "ack", "event", "clock", "node", "payload"], noNullPrototype: true },
  ),
  accept: record({ type: fc.constant("accept"), seq, ack: uint, event: uint, lamport: uint }),
  // `node` is optional: both the old two-field and the three-field form round-trip.
  reject: fc.record(
    { type: fc.constant("reject"), seq, ack: uint, event: uint, code, node: uint },
    { requiredKeys: ["type", "seq", "ack", "event", "code"], noNullPrototype: true },
  ),
  ack: record({ type: fc.constant("ack"), seq: fc.constant(0), ack: uint }),
  close: record({ type: fc.constant("close"), seq: fc.constant(0), ack: uint, code, reason: text }),
  notice: record({
    type: fc.constant("notice"),
    seq,
    ack: uint,
    event: uint,
    clock: uint,
    nodes: fc.uniqueArray(uint, { minLength: 1, maxLength: 5 }),
    receivers: fc.array(peerId, { minLength: 1, maxLength: 3 }),
  }),
  dead: record({
    type: fc.constant("dead"),
    seq,
    ack: uint,
    event: uint,
    lamport: uint,
    nodes: fc.uniqueArray(uint, { minLength: 1, maxLength: 5 }),
  }),
  destroy: record({
    type: fc.constant("destroy"),
    seq,
    ack: uint,
    event: uint,
    clock: uint,
    nodes: fc.uniqueArray(uint, { maxLength: 5 }),
  }),
  endpoints: record({
    type: fc.constant("endpoints"),
    seq,
    ack: uint,
    peer: peerId,
    urls: fc.array(fc.constantFrom("ws://127.0.0.1:7000", "ws://[::1]:80", "unix:/tmp/a.sock"), {
      maxLength: 3,
    }),
  }),
  claim: record({
    type: fc.constant("claim"),
    seq,
    ack: uint,
    event: uint,
    secret: fc.uint8Array({ minLength: 16, maxLength: 32 }),
  }),
  granted: record({ type: fc.constant("granted"), seq, ack: uint, event: uint, node: uint }),
  release: record({
    type: fc.constant("release"),
    seq,
    ack: uint,
    event: uint,
    clock: uint,
    node: uint,
    count: uint.filter((n) => n >= 1),
    holder: peerId,
  }),
  unicasts: fc.array(fc.tuple(uint, batchPayload), { minLength: 1, maxLength: 4 }).chain((entries) =>
    record({
      type: fc.constant("unicasts"),
      seq,
      ack: uint,
      event: uint,
      clock: uint,
      to: fc.constant(entries.map((e) => e[0])),
      payloads: fc.constant(entries.map((e) => e[1])),
      accepted: fc.option(runs, { nil: undefined }),
    }).map(dropUndefined),
  ),
  accepts: record({
    type: fc.constant("accepts"),
    seq,
    ack: uint,
    event: uint,
    count: seq,
    lamport: uint,
    refusals: fc.array(fc.oneof(fc.tuple(uint, code), fc.tuple(uint, code, uint)), { maxLength: 3 }),
    more: fc.option(runs, { nil: undefined }),
  }).map(dropUndefined),
  stages: fc
    .array(fc.tuple(fc.uniqueArray(uint, { minLength: 1, maxLength: 3 }), batchPayload), {
      minLength: 1,
      maxLength: 4,
    })
    .chain((entries) =>
      record({
        type: fc.constant("stages"),
        seq,
        ack: uint,
        event: uint,
        clock: uint,
        events: fc
          .uniqueArray(uint, { minLength: entries.length, maxLength: entries.length })
          .map((e) => e.sort((a, b) => a - b)),
        targets: fc.constant(entries.map((e) => e[0])),
        payloads: fc.constant(entries.map((e) => e[1])),
      }).chain((frame) =>
        fc.oneof(
          fc.constant(frame),
          fc
            .array(fc.array(peerId, { maxLength: 3 }), { minLength: 1, maxLength: 3 })
            .chain((groups) =>
              fc
                .array(fc.nat(groups.length - 1), { minLength: entries.length, maxLength: entries.length })
                .map((receivers) => ({ ...frame, groups, receivers })),
            ),
        ),
      ),
    ),
  proposals: record({
    type: fc.constant("proposals"),
    seq,
    ack: uint,
    event: uint,
    lamport: uint,
    refusals: fc.array(fc.oneof(fc.tuple(uint, code), fc.tuple(uint, code, uint)), { maxLength: 3 }),
    destroyed: fc.array(fc.tuple(uint, fc.uniqueArray(uint, { minLength: 1, maxLength: 3 })), {
      maxLength: 3,
    }),
    more: fc.option(fc.array(fc.tuple(uint, uint), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  }).map(dropUndefined),
  commits: record({
    type: fc.constant("commits"),
    seq,
    ack: uint,
    event: uint,
    lamport: uint,
    events: fc.uniqueArray(uint, { minLength: 1, maxLength: 4 }).map((e) => e.sort((a, b) => a - b)),
  }).chain((frame) =>
    fc.oneof(
      fc.constant(frame),
      fc
        .record({
          sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
          last: fc.integer({ min: frame.event, max: Number.MAX_SAFE_INTEGER }),
          skip: fc.array(uint, { maxLength: 3 }),
        })
        .map((extra) => ({ ...frame, ...extra })),
    ),
  ),
  query: record({ type: fc.constant("query"), seq, ack: uint, sender: peerId, event: uint }),
  committed: record({
    type: fc.constant("committed"),
    seq,
    ack: uint,
    sender: peerId,
    event: uint,
    lamport: uint,
    dead: fc.array(handle, { maxLength: 3 }),
    sig: fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 0 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
    ),
    first: uint,
    last: uint,
    skip: fc.array(uint, { maxLength: 3 }),
  }),
  fenced: record({ type: fc.constant("fenced"), seq, ack: uint, sender: peerId, event: uint }),
  gone: record({ type: fc.constant("gone"), seq, ack: uint, sender: peerId, event: uint }),
};

/** An optional field left out: the key absent, as a decoded frame has it. */
function dropUndefined<T extends object>(frame: T): T {
  for (const key of Object.keys(frame))
    if ((frame as Record<string, unknown>)[key] === undefined) delete (frame as Record<string, unknown>)[key];
  return frame;
}

export const anyFrame: fc.Arbitrary<Frame> = fc.oneof(...Object.values(frames));

/** Bytes as lowercase hex, for assertions and messages. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}
