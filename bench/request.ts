/**
 * (3) request/reply: sequential `peer.request` round trips to an echo peer in another process,
 * beside raw ws ping-pong (one 64-byte message there and back) and sequential Cap'n Web calls
 * (`echo(bytes)`), all three served by the same echo process.
 */
import { capbusSender, stopSender } from "./capbus.js";
import { capnwebClient } from "./capnweb.js";
import { payload } from "./payload.js";
import { receiver } from "./proc.js";
import { openRawWs } from "./raw-ws.js";
import type { Row } from "./report.js";
import { type Figures, get, interleave, ratio, type Variant } from "./rounds.js";
import { percentiles } from "./stats.js";

/** Round trips one after another: sized by the warm-up to take about `seconds`. */
export function roundTrips(key: string, once: () => Promise<unknown>, seconds: number): Variant {
  let n = 500;
  const go = async (count: number): Promise<Figures> => {
    const times = new Array<number>(count);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await once();
      times[i] = performance.now() - t;
    }
    const rate = count / ((performance.now() - start) / 1000);
    return { rate, ...percentiles(times) };
  };
  return {
    key,
    async warm() {
      const { rate } = await go(n);
      n = Math.max(500, Math.round(rate! * seconds));
    },
    run: () => go(n),
  };
}

export async function requestReply(o: { runs: number; seconds: number }): Promise<Row[]> {
  const echo = await receiver({ capbus: "ws://127.0.0.1:0", rawWs: true, capnweb: true, echo: true });
  const sender = await capbusSender();
  const ws = await openRawWs(echo.rawUrl);
  const capnweb = await capnwebClient(echo.capnwebUrl);
  try {
    const handle = await sender.peer.import(echo.url);
    const bytes = payload(64);
    let answered: (() => void) | undefined;
    ws.on("message", () => answered?.());
    const ping = () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        ws.send(bytes, { binary: true });
      });
    const results = await interleave(o.runs, [
      roundTrips("capbus", () => sender.peer.request(handle, bytes), o.seconds),
      roundTrips("raw", ping, o.seconds),
      roundTrips("capnweb", () => capnweb.echo(bytes), o.seconds),
    ]);
    return [
      { item: 3, label: "request/reply: capbus peer.request", unit: "rt/s", spread: get(results, "capbus") },
      { item: 3, label: "request/reply: raw ws ping-pong", unit: "rt/s", spread: get(results, "raw") },
      { item: 3, label: "request/reply: capbus p50", unit: "ms", spread: get(results, "capbus", "p50") },
      { item: 3, label: "request/reply: capbus p99", unit: "ms", spread: get(results, "capbus", "p99") },
      { item: 3, label: "request/reply: raw ws p50", unit: "ms", spread: get(results, "raw", "p50") },
      { item: 3, label: "request/reply: raw ws p99", unit: "ms", spread: get(results, "raw", "p99") },
      { item: 3, label: "request/reply: Cap'n Web calls", unit: "rt/s", spread: get(results, "capnweb") },
      { item: 3, label: "request/reply: Cap'n Web p50", unit: "ms", spread: get(results, "capnweb", "p50") },
      { item: 3, label: "request/reply: Cap'n Web p99", unit: "ms", spread: get(results, "capnweb", "p99") },
      {
        item: 3,
        label: "request/reply: capbus p50 / raw ws p50",
        unit: "x",
        spread: ratio(results, "capbus", "raw", "p50"),
        target: "<= 2.0",
      },
      {
        item: 3,
        label: "request/reply: capbus rt/s / Cap'n Web calls/s",
        unit: "x",
        spread: ratio(results, "capbus", "capnweb"),
        target: ">= 1.2",
      },
    ];
  } finally {
    ws.terminate();
    capnweb.close();
    await stopSender(sender);
    await echo.proc.stop();
  }
}
