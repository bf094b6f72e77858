/**
 * (9) codec: frames/s for FrameCodec encode + decode + validate of a typical message frame (a
 * unicast with a 64-byte payload), beside bare cbor-x encode + decode of the same tuple. In this
 * process; interleaved runs.
 */
import { type Frame, FrameCodec } from "@capbus/wire";
import { Encoder } from "cbor-x";
import { payload } from "./payload.js";
import type { Row } from "./report.js";
import { get, interleave, ratio, throughput } from "./rounds.js";

export async function codec(o: { runs: number; seconds: number }): Promise<Row[]> {
  const frameCodec = new FrameCodec();
  const raw = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false });
  const bytes = payload(64);
  const frame = (i: number): Frame => ({
    type: "unicast",
    seq: i + 1,
    ack: i,
    event: i + 1,
    clock: 1000 + i,
    node: 3,
    payload: bytes,
  });
  const loop = (one: (i: number) => void) => async (n: number) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) one(i);
    return performance.now() - start;
  };
  const opts = { first: 100_000, seconds: o.seconds / 2, min: 100_000 };
  const results = await interleave(o.runs, [
    throughput(
      "codec",
      loop((i) => frameCodec.decode(frameCodec.encode(frame(i)))),
      opts,
    ),
    throughput(
      "cbor",
      loop((i) => raw.decode(raw.encode([5, i + 1, i, i + 1, 1000 + i, 3, bytes]))),
      opts,
    ),
  ]);
  return [
    {
      item: 9,
      label: "codec: FrameCodec encode+decode+validate",
      unit: "frames/s",
      spread: get(results, "codec"),
      target: ">= 500000",
    },
    { item: 9, label: "codec: bare cbor-x encode+decode", unit: "frames/s", spread: get(results, "cbor") },
    { item: 9, label: "codec: FrameCodec / bare cbor-x", unit: "x", spread: ratio(results, "codec", "cbor") },
  ];
}
