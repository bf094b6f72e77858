/**
 * The hello negotiates WebSocket batch messages (spec/transports.md §1.1, wire.md §5.1): a link
 * sends several frames in one message only when both ends' hellos say they read such messages.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Link, LinkHandler } from "@capbus/core";
import { SimWorld } from "@capbus/sim";

/** A link that records the negotiation result, reading batch messages or not. */
function negotiating(inner: Link, reads: boolean, terms: boolean[]): Link {
  return {
    send: (frame) => inner.send(frame),
    close: (code, reason) => inner.close(code, reason),
    attach: (handler: LinkHandler) => inner.attach(handler),
    ...(reads ? { batchMessages: true } : {}),
    negotiated: (t) => terms.push(t.batchMessages),
  };
}

for (const [a, b, expected] of [
  [true, true, true],
  [true, false, false],
  [false, true, false],
] as const) {
  test(`batch messages: A reads them ${a}, B reads them ${b}: negotiated ${expected} at both ends`, async () => {
    const w = new SimWorld({ seed: 1 });
    const pa = w.addPeer("A");
    const pb = w.addPeer("B");
    const [ab, ba] = w.network.link("A", "B");
    const atA: boolean[] = [];
    const atB: boolean[] = [];
    pa.connect(negotiating(ab, a, atA), "B");
    pb.connect(negotiating(ba, b, atB));
    await w.run();
    assert.deepEqual(pa.linkedPeers, ["B"]);
    assert.deepEqual(atA, [expected]);
    assert.deepEqual(atB, [expected]);
    await w.close();
  });
}
