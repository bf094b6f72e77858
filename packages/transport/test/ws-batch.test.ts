/** WebSocket batches (spec/transports.md §1.1) against spec/vectors/transports/ws-batch.json. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { joinWsBatch, splitWsMessage, WS_BATCH_BYTES, WS_EAGER_BYTES, WsBatcher } from "@capbus/transport";
import fc from "fast-check";

interface Vectors {
  readonly valid: readonly { name: string; message: string; frames: string[] }[];
  readonly invalid: readonly { name: string; message: string; code: string; maxFrameBytes?: number }[];
}
const vectors = JSON.parse(
  readFileSync(new URL("../../../spec/vectors/transports/ws-batch.json", import.meta.url), "utf8"),
) as Vectors;
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("ws batch vectors: valid messages split into their frames", () => {
  for (const v of vectors.valid) {
    const split = splitWsMessage(bytes(v.message), 16 * 1024 * 1024);
    assert.ok(split.ok, v.name);
    assert.deepEqual(split.frames.map(hex), v.frames, v.name);
  }
});

test("ws batch vectors: invalid messages close the link with their code", () => {
  for (const v of vectors.invalid) {
    const split = splitWsMessage(bytes(v.message), v.maxFrameBytes ?? 16 * 1024 * 1024);
    assert.ok(!split.ok, v.name);
    assert.equal(split.code, v.code, v.name);
  }
});

test("join then split gives back any frames, in order", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 20 }), (frames) => {
      const split = splitWsMessage(joinWsBatch(frames), 1 << 20);
      assert.ok(split.ok);
      assert.deepEqual(split.frames.map(hex), frames.map(hex));
    }),
  );
});

test("the batcher sends a tick's frames as one message, never longer than a batch may be", async () => {
  const messages: Uint8Array[] = [];
  const batcher = new WsBatcher((m) => messages.push(m));
  batcher.batching = true;
  const frames = Array.from({ length: 300 }, (_, i) => new Uint8Array(500).fill(i & 0xff));
  for (const f of frames) batcher.push(f);
  batcher.push(new Uint8Array(40_000).fill(7)); // large: alone, after what was queued
  await Promise.resolve();
  const out: Uint8Array[] = [];
  for (const m of messages) {
    assert.ok(m.byteLength <= WS_BATCH_BYTES || m[0] !== 0);
    const split = splitWsMessage(m, 1 << 20);
    assert.ok(split.ok);
    out.push(...split.frames);
  }
  assert.deepEqual(out.map(hex), [...frames, new Uint8Array(40_000).fill(7)].map(hex));
  assert.ok(messages.length < 14);
});

test("the batcher sends a batch once it is worth a message, without waiting for the tick to end", () => {
  const messages: Uint8Array[] = [];
  const batcher = new WsBatcher((m) => messages.push(m));
  batcher.batching = true;
  // A burst on promise callbacks may not end its tick for a window of sends: 40 KiB of frames
  // are out as messages of at least WS_EAGER_BYTES before any flush runs.
  for (let i = 0; i < 80; i++) batcher.push(new Uint8Array(500).fill(i));
  assert.equal(messages.length, 2);
  for (const m of messages) assert.ok(m.byteLength >= WS_EAGER_BYTES && m.byteLength <= WS_BATCH_BYTES);
  const split = messages.map((m) => splitWsMessage(m, 1 << 20));
  const firsts = split.flatMap((x) => (x.ok ? x.frames.map((f) => f[0]) : []));
  assert.deepEqual(
    firsts,
    Array.from({ length: firsts.length }, (_, i) => i),
  );
});

test("the default flush calls queueMicrotask as a plain function (a browser's throws 'Illegal invocation' otherwise)", async () => {
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = function (this: unknown, callback: () => void) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    original(callback);
  };
  try {
    const written: Uint8Array[] = [];
    const batcher = new WsBatcher((message) => written.push(message));
    batcher.batching = true;
    batcher.push(Uint8Array.of(0x82, 1, 2));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(written.length, 1);
  } finally {
    globalThis.queueMicrotask = original;
  }
});
