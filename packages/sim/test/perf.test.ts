import assert from "node:assert/strict";
import { test } from "node:test";
import { SimNetwork } from "@capbus/sim";

/** Echo traffic on a ring of links; returns frames delivered. Timing is printed, never asserted. */
function ringTraffic(net: SimNetwork, peers: number, framesPerPeer: number): () => number {
  let delivered = 0;
  const names = Array.from({ length: peers }, (_, i) => `p${i}`);
  const outs = names.map((name, i) => {
    const [out, inn] = net.link(name, names[(i + 1) % peers]!);
    inn.attach({
      frame: () => {
        delivered++;
      },
      closed() {},
    });
    return out;
  });
  const frame = new Uint8Array(64);
  for (let k = 0; k < framesPerPeer; k++) {
    net.scheduler.setTimer(k >> 3, () => {
      for (const out of outs) out.send(frame);
    });
  }
  return () => delivered;
}

test("performance sanity: frames per second through the simulator (printed)", async () => {
  const peers = 10;
  const perPeer = 10_000;
  const total = peers * perPeer;

  const syncNet = new SimNetwork({ seed: 1 });
  const syncCount = ringTraffic(syncNet, peers, perPeer);
  let t0 = performance.now();
  syncNet.scheduler.runUntilIdle({ maxSteps: 10_000_000 });
  const syncMs = performance.now() - t0;
  assert.equal(syncCount(), total);

  const asyncNet = new SimNetwork({ seed: 1 });
  const asyncCount = ringTraffic(asyncNet, peers, perPeer);
  t0 = performance.now();
  await asyncNet.scheduler.settle({ maxSteps: 10_000_000 });
  const asyncMs = performance.now() - t0;
  assert.equal(asyncCount(), total);

  const rate = (ms: number) => Math.round(total / (ms / 1000)).toLocaleString("en-US");
  console.log(
    `sim throughput: ${total} frames; runUntilIdle ${syncMs.toFixed(0)} ms (${rate(syncMs)} frames/s, ` +
      `${((syncMs * 1000) / total).toFixed(2)} us/frame); settle (MessageChannel drain per task) ` +
      `${asyncMs.toFixed(0)} ms (${rate(asyncMs)} frames/s, ${((asyncMs * 1000) / total).toFixed(2)} us/frame)`,
  );
});
