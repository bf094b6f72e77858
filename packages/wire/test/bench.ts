/**
 * Codec throughput for a typical unicast frame, against bare cbor-x in the same run.
 * Run: node --conditions=@capbus/source --import tsx packages/wire/test/bench.ts
 */

import { type Frame, FrameCodec } from "@capbus/wire";
import { Encoder } from "cbor-x";

const N = 300_000;
const codec = new FrameCodec();
const raw = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false });
const frame = (i: number): Frame => ({
  type: "unicast",
  seq: i + 1,
  ack: i,
  event: i,
  clock: 1000 + i,
  node: 3,
  payload: { text: "hello world", id: i },
});
const tuple = (i: number) => [5, i + 1, i, i, 1000 + i, 3, { text: "hello world", id: i }];

function rate(run: (i: number) => void): number {
  for (let i = 0; i < N / 5; i++) run(i);
  const start = performance.now();
  for (let i = 0; i < N; i++) run(i);
  return Math.round(N / ((performance.now() - start) / 1000));
}

const rows = [
  { case: "FrameCodec encode+decode+validate", "ops/s": rate((i) => codec.decode(codec.encode(frame(i)))) },
  { case: "bare cbor-x encode+decode", "ops/s": rate((i) => raw.decode(raw.encode(tuple(i)))) },
  { case: "FrameCodec encode", "ops/s": rate((i) => codec.encode(frame(i))) },
];
console.table(rows);
