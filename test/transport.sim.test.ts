/** The transport conformance suite over the simulated network (virtual time, seeded). */
import { SimNetwork } from "@capbus/sim";
import { type Harness, type LinkPair, transportConformance } from "./transport-conformance.js";

transportConformance("sim", async (): Promise<Harness> => {
  const net = new SimNetwork({ seed: 6, latency: "normal" });
  let pairs = 0;
  return {
    runtime: net.scheduler,
    async pair(): Promise<LinkPair> {
      // Fresh endpoint names per pair, so stalling or cutting one pair leaves the others alone.
      const n = ++pairs;
      const [a, b] = net.link(`a${n}`, `b${n}`);
      return {
        a,
        b,
        cut: () => void net.cut(`a${n}`, `b${n}`),
        stall: () => net.pause(`b${n}`),
        unstall: () => net.resume(`b${n}`),
      };
    },
    async until(done, what, ms = 10_000) {
      const end = net.scheduler.now() + ms;
      while (!done()) {
        if (net.scheduler.now() >= end) throw new Error(`timed out (virtual ${ms} ms) waiting for ${what}`);
        await net.scheduler.advance(5);
      }
    },
    close: async () => undefined,
  };
});
