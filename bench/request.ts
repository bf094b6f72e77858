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

/**
 * Warm-up of a round-trip variant: at least this many round trips, and until two blocks in a row
 * agree on the rate within 10% (capbus reaches its steady rate only after a few thousand: 500
 * round trips left its first runs, sized from a cold rate, measuring its warm-up).
 */
const WARM_MIN = 5000;
const WARM_MAX = 30_000;
const WARM_BLOCK = 1000;

/** Round trips one after another: warmed up to a steady rate, runs sized to take about `seconds`. */
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
      let done = 0;
      let last = 0;
      for (;;) {
        const { rate } = await go(WARM_BLOCK);
        done += WARM_BLOCK;
        const steady = last > 0 && Math.abs(rate! - last) <= 0.1 * last;
        last = rate!;
        if ((done >= WARM_MIN && steady) || done >= WARM_MAX) break;
      }
      n = Math.max(500, Math.round(last * seconds));
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
