/**
 * Signed finals (spec/ordering.md §16): a keyed sender signs the final of a multicast round (or of a
 * round batch) once, and every commit carries the signature, so a destination can show the final to
 * the event's other receivers after the sender is gone, and nobody else can make one up.
 */
import type { HandleRef } from "@capbus/wire";
import { verifySignature } from "./identity.js";

/**
 * What a sender's signature covers (spec/wire.md §5.25): its events `first` to `last` except those in
 * `skip`, each committed at `lamport` with the carried handles `dead` arriving dead.
 */
export interface FinalProof {
  readonly lamport: number;
  readonly first: number;
  readonly last: number;
  readonly skip: readonly number[];
  readonly dead: readonly HandleRef[];
  /** 64 bytes; empty for an unkeyed sender, whose finals are not signed. */
  readonly sig: Uint8Array;
}

const CONTEXT = new TextEncoder().encode("capbus/2 final");
const ASCII = new TextEncoder();

/** The bytes the sender signs (spec/wire.md §5.25): fixed-width integers, ids length-prefixed. */
export function finalStatement(sender: string, proof: Omit<FinalProof, "sig">): Uint8Array {
  const id = ASCII.encode(sender);
  const owners = proof.dead.map((ref) => ASCII.encode(ref.owner));
  let size = CONTEXT.length + 1 + id.length + 24 + 2 + 8 * proof.skip.length + 2;
  for (const owner of owners) size += 1 + owner.length + 8;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  const u64 = (n: number) => {
    view.setBigUint64(at, BigInt(n));
    at += 8;
  };
  const u16 = (n: number) => {
    view.setUint16(at, n);
    at += 2;
  };
  bytes(CONTEXT);
  out[at++] = id.length;
  bytes(id);
  u64(proof.lamport);
  u64(proof.first);
  u64(proof.last);
  u16(proof.skip.length);
  for (const s of proof.skip) u64(s);
  u16(proof.dead.length);
  proof.dead.forEach((ref, i) => {
    const owner = owners[i] as Uint8Array;
    out[at++] = owner.length;
    bytes(owner);
    u64(ref.node);
  });
  return out;
}

/** Does the proof name event `seq` (first <= seq <= last, not skipped)? */
export function covers(proof: FinalProof, seq: number): boolean {
  return proof.first <= seq && seq <= proof.last && !proof.skip.includes(seq);
}

/**
 * Is `proof` the sender's final for its event `seq`? `key` is the public key the sender proved in
 * its handshake with this peer (empty: an unkeyed sender, whose finals carry no signature).
 */
export async function validFinal(
  sender: string,
  key: Uint8Array,
  seq: number,
  proof: FinalProof,
): Promise<boolean> {
  if (!covers(proof, seq)) return false;
  if (key.length === 0) return proof.sig.length === 0;
  if (proof.sig.length !== 64) return false;
  return verifySignature(key, finalStatement(sender, proof), proof.sig);
}

/** The skip list of a batch: numbers from `first` to `last` that are not among `events` (sorted). */
export function skipped(first: number, last: number, events: readonly number[]): number[] {
  const taken = new Set(events);
  const skip: number[] = [];
  for (let s = first; s <= last; s++) if (!taken.has(s)) skip.push(s);
  return skip;
}
