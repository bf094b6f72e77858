import assert from "node:assert/strict";
import { KeyObject, sign } from "node:crypto";
import { test } from "node:test";
import { Identity, type SyncSigner, verifySignature } from "../src/index.js";

// What @capbus/node passes (packages/node/src/sign.ts), written here so the core's test needs no other package.
const nodeSigner: SyncSigner = (privateKey) => {
  const key = KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0]);
  return (data) => new Uint8Array(sign(null, data, key));
};

test("an identity given a synchronous signer signs at once, and its signatures verify under its key", async () => {
  const identity = await Identity.generate({ signSync: nodeSigner });
  const data = new TextEncoder().encode("a final");
  const now = identity.signNow(data);
  assert.ok(now instanceof Uint8Array && now.byteLength === 64);
  assert.ok(await verifySignature(identity.publicKey, data, now));
  // Ed25519 is deterministic: the host's signature is WebCrypto's.
  assert.deepEqual(now, await identity.sign(data));
});

test("an identity without one signs only through WebCrypto: signNow gives nothing", async () => {
  const identity = await Identity.generate();
  assert.equal(identity.signNow(new Uint8Array(8)), undefined);
});
