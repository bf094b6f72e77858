/**
 * (4) multicast from one sender to 8 receiver processes, beside raw ws repeated unicast (each
 * payload written to 8 sockets); (5) alternating destinations, one sender to 2 receivers in turn,
 * beside raw ws alternating between 2 sockets. Both use the same receiver processes.
 */
import type { Handle } from "@capbus/node";
import { capbusSender, FrameCount, stopSender, streamTo } from "./capbus.js";
import { payload, timedPayload } from "./payload.js";
import { type Proc, receiver } from "./proc.js";
import { openRawWs, rawWsStream } from "./raw-ws.js";
import type { Row } from "./report.js";
import { type Figures, get, interleave, ratio, throughput, type Variant } from "./rounds.js";
import { percentiles, spread } from "./stats.js";
import { lastDelivery, timedStream } from "./timing.js";

const PACED = 200;

/**
 * Latency: `count` events one at a time (the next once the last receiver has acknowledged this
 * one), each from its send to its delivery at the last of the receivers (wall-clock stamps in
 * the payload, read by the receivers).
 */
function paced(key: string, sinks: readonly Proc[], one: (i: number) => Promise<void>): Variant {
  const go = async (count: number): Promise<Figures> => {
    const { done } = await timedStream(
      sinks,
      count,
      async () => {
        for (let i = 0; i < count; i++) await one(i);
      },
      true,
      true,
    );
    return percentiles(lastDelivery(done));
  };
  return {
    key,
    async warm() {
      await go(50);
    },
    run: () => go(PACED),
  };
}

export async function multicast(
  o: { runs: number; seconds: number },
  parts = { multicast: true, alternating: true },
  fanout = 8,
): Promise<Row[]> {
  // (5) alone needs only the two receivers it alternates between.
  const started = parts.multicast ? fanout : 2;
  const receivers = await Promise.all(
    Array.from({ length: started }, () => receiver({ capbus: "ws://127.0.0.1:0", rawWs: true })),
  );
  const sinks = receivers.map((r) => r.proc);
  const sender = await capbusSender();
  const sockets = await Promise.all(receivers.map((r) => openRawWs(r.rawUrl)));
  try {
    const handles: Handle[] = [];
    for (const r of receivers) handles.push(await sender.peer.import(r.url));
    const bytes = payload(64);
    const opts = { first: 500 * fanout, seconds: o.seconds, min: 250 * fanout, multiple: fanout };
    // n counts deliveries: n / fanout events, each to every receiver.
    const fan = (to: Proc[], send: (n: number) => Promise<void>) => async (n: number) =>
      (await timedStream(to, n / fanout, () => send(n / fanout))).ms;
    let acks = 0;
    let acked: (() => void) | undefined;
    for (const ws of sockets)
      ws.on("message", () => {
        if (++acks === fanout) acked?.();
      });
    const rawOne = (i: number) =>
      new Promise<void>((resolve) => {
        acks = 0;
        acked = resolve;
        const stamped = timedPayload(64, i);
        for (const ws of sockets) ws.send(stamped, { binary: true });
      });
    // One event at a time on both sides: the next goes once every receiver has delivered this
    // one (each acknowledges over its raw socket), not once capbus has decided it.
    const capbusOne = (i: number) =>
      new Promise<void>((resolve, reject) => {
        acks = 0;
        acked = resolve;
        sender.peer.send(handles, timedPayload(64, i)).catch(reject);
      });
    const frames = new FrameCount(sender);
    const results = await interleave(parts.multicast ? o.runs : 0, [
      throughput(
        "capbus",
        frames.wrap(fan(sinks, streamTo(sender, [handles], bytes, 256)), (n) => n / fanout),
        opts,
      ),
      throughput("raw", fan(sinks, rawWsStream(sockets, bytes, { all: true, window: 256 })), opts),
      paced("capbusLatency", sinks, capbusOne),
      paced("rawLatency", sinks, rawOne),
    ]);

    // (5): two receivers in turn.
    const pair = sinks.slice(0, 2);
    const alt = { first: 1000, seconds: o.seconds, min: 500, multiple: 2 };
    const turns = (to: Proc[], send: (n: number) => Promise<void>) => async (n: number) =>
      (await timedStream(to, n / 2, () => send(n))).ms;
    const altFrames = new FrameCount(sender);
    const alternating = await interleave(parts.alternating ? o.runs : 0, [
      throughput("capbus", altFrames.wrap(turns(pair, streamTo(sender, handles.slice(0, 2), bytes))), alt),
      throughput("raw", turns(pair, rawWsStream(sockets.slice(0, 2), bytes)), alt),
    ]);

    const m = `multicast 1->${fanout}`;
    const rows: Row[] = [
      { item: 4, label: `${m}: capbus, deliveries`, unit: "ev/s", spread: get(results, "capbus") },
      { item: 4, label: `${m}: capbus frames/event`, unit: "fr/ev", spread: spread(frames.runs(o.runs)) },
      { item: 4, label: `${m}: raw ws repeated unicast`, unit: "ev/s", spread: get(results, "raw") },
      {
        item: 4,
        label: `${m}: capbus / raw ws`,
        unit: "x",
        spread: ratio(results, "capbus", "raw"),
        target: ">= 1.0",
      },
      {
        item: 4,
        label: `${m}: capbus send->last p50`,
        unit: "ms",
        spread: get(results, "capbusLatency", "p50"),
      },
      {
        item: 4,
        label: `${m}: capbus send->last p99`,
        unit: "ms",
        spread: get(results, "capbusLatency", "p99"),
        target: "<= 5",
      },
      {
        item: 4,
        label: `${m}: raw ws send->last p50`,
        unit: "ms",
        spread: get(results, "rawLatency", "p50"),
      },
      {
        item: 4,
        label: `${m}: raw ws send->last p99`,
        unit: "ms",
        spread: get(results, "rawLatency", "p99"),
      },
      { item: 5, label: "alternating 1->2: capbus", unit: "ev/s", spread: get(alternating, "capbus") },
      {
        item: 5,
        label: "alternating 1->2: capbus frames/event",
        unit: "fr/ev",
        spread: spread(altFrames.runs(o.runs)),
      },
      { item: 5, label: "alternating 1->2: raw ws", unit: "ev/s", spread: get(alternating, "raw") },
      {
        item: 5,
        label: "alternating 1->2: capbus / raw ws",
        unit: "x",
        spread: ratio(alternating, "capbus", "raw"),
        target: ">= 1.0",
      },
    ];
    return rows.filter((r) => (r.item === 4 ? parts.multicast : parts.alternating));
  } finally {
    for (const ws of sockets) ws.terminate();
    await stopSender(sender);
    await Promise.all(sinks.map((p) => p.stop()));
  }
}
