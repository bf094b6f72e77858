/**
 * Capability URLs over real sockets (spec/bootstrap.md §2, spec/transports.md §3): a URL whose
 * peer id is not the peer at its address ends the dial at once with E_WRONG_PEER, with no
 * redialling, and `import()` fails well within `dialTimeoutMs`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CapbusError } from "@capbus/core";
import { startPeer } from "@capbus/node";

test("a URL naming another peer than the one at its address: import fails at once with E_WRONG_PEER", async () => {
  let handshakes = 0;
  const count = (message: string) => {
    if (message.startsWith("handshake")) handshakes++;
  };
  const [a, b, c] = await Promise.all([
    startPeer({ logger: { debug: count, info: count } }),
    startPeer({ dialTimeoutMs: 10_000 }),
    startPeer(),
  ]);
  try {
    const url = a.peer.export(a.peer.createNode());
    // a's address, c's id: whoever handed this URL out got the two mixed up.
    const wrong = url.replace(`/${a.peer.id}/`, `/${c.peer.id}/`);
    assert.notEqual(wrong, url);
    const started = performance.now();
    const error = await b.peer.import(wrong).then(
      () => assert.fail("the import must fail"),
      (e: unknown) => e,
    );
    const took = performance.now() - started;
    assert.ok(error instanceof CapbusError, String(error));
    assert.equal(error.code, "E_WRONG_PEER");
    assert.ok(took < 2_000, `failed after ${Math.round(took)} ms, dialTimeoutMs is 10000`);
    // No redialling: a sees that one handshake, and nothing more, and b holds no session.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(handshakes, 1, "a saw one failed handshake");
    assert.deepEqual(b.peer.linkedPeers, []);
    // The right URL still works from the same peer afterwards.
    const handle = await b.peer.import(url);
    assert.equal((await b.peer.send(handle, "right peer")).ok, true);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});
