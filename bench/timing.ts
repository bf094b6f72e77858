/** Timing a send against child receivers: arm them, send, wait until each reports done. */
import type { Message, Proc } from "./proc.js";

/** Arm `sinks` for `count` deliveries each, run `send`, and return the ms until all are done. */
export async function timedStream(
  sinks: readonly Proc[],
  count: number,
  send: () => Promise<void>,
  latency = false,
  ack = false,
): Promise<{ ms: number; done: Message[] }> {
  await Promise.all(sinks.map((s) => s.ask({ cmd: "expect", count, latency, ack })));
  const start = performance.now();
  const [, done] = await Promise.all([send(), Promise.all(sinks.map((s) => s.next()))]);
  return { ms: performance.now() - start, done };
}

/** Per-event latency to the last receiver: the largest age each event had at any receiver. */
export function lastDelivery(done: readonly Message[]): number[] {
  const lists = done.map((d) => d.latencies as number[]);
  const n = Math.min(...lists.map((l) => l.length));
  return Array.from({ length: n }, (_, i) => Math.max(...lists.map((l) => l[i]!)));
}
