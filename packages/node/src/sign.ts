/**
 * Ed25519 signing at once on Node (`node:crypto`), for a WebCrypto key: a multicast's commits then
 * leave in the turn its final is decided, not a thread-pool round trip later (spec/ordering.md §16).
 */
import { KeyObject, sign } from "node:crypto";
import type { SyncSigner } from "@capbus/core";

export const nodeSignSync: SyncSigner = (privateKey) => {
  const key = KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0]);
  return (data) => new Uint8Array(sign(null, data, key));
};
