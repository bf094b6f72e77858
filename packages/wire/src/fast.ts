/**
 * Hand-written validators for the hot frames (unicast, accept, ack, stage, propose, commit), run
 * on decode before zod. The zod schemas in frames.ts stay the reference: a fast validator only
 * ever says "valid" where the schema would, and when it says "invalid" the codec runs the schema
 * to name the error, so refusals are the schema's own. A property test holds them equal.
 */
const PEER_ID = /^[\x21-\x7e]{1,128}$/;

/** The objects the codec builds: `type`, `seq`, `ack` and the layout's fields, nothing else. */
export type FrameFields = Readonly<Record<string, unknown>>;
/**
 * `seq` and `ack` default to the frame's own; a sender passes them apart when it writes a frame
 * body with its session's numbers (FrameCodec.encodeOwn), which saves a copy of the body.
 */
export type FastValidator = (frame: FrameFields, seq?: unknown, ack?: unknown) => boolean;

const uint = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const seq1 = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 1;
/**
 * Peer ids already found valid: a multicast names the same few in every frame. Strings are
 * immutable, so a hit is exact; the set is cleared when full, so hostile input cannot grow it.
 */
const validIds = new Set<string>();
const MAX_VALID_IDS = 256;
const peerId = (v: unknown): boolean => {
  if (typeof v !== "string") return false;
  if (validIds.has(v)) return true;
  if (!PEER_ID.test(v)) return false;
  if (validIds.size >= MAX_VALID_IDS) validIds.clear();
  validIds.add(v);
  return true;
};

/** At least one node, each a uint, none twice. */
function nodes(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const n of v) if (!uint(n)) return false;
  if (v.length === 1) return true;
  return new Set(v).size === v.length;
}

function handleRefs(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const ref of v) {
    // The codec turns [owner, node] pairs into plain objects; anything else is for zod to refuse.
    // Only plain objects, as the reader (profile.ts) builds them; anything else is left to zod.
    if (typeof ref !== "object" || ref === null || Object.getPrototypeOf(ref) !== Object.prototype)
      return false;
    const keys = Object.keys(ref);
    if (keys.length !== 2) return false;
    const r = ref as { owner?: unknown; node?: unknown };
    if (!Object.hasOwn(r, "owner") || !Object.hasOwn(r, "node") || !peerId(r.owner) || !uint(r.node))
      return false;
  }
  return true;
}

function peerIds(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const p of v) if (!peerId(p)) return false;
  return true;
}

/** A non-empty list of uints (nodes of a fast batch may repeat). */
function uints(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const n of v) if (!uint(n)) return false;
  return true;
}

/** A non-empty list of uints in increasing order. */
function increasing(v: unknown): boolean {
  if (!uints(v)) return false;
  const list = v as number[];
  for (let i = 1; i < list.length; i++) if ((list[i] as number) <= (list[i - 1] as number)) return false;
  return true;
}

/** A non-empty list as long as `payloads` (a non-empty list). */
function parallel(v: unknown, payloads: unknown): boolean {
  return Array.isArray(v) && Array.isArray(payloads) && payloads.length > 0 && v.length === payloads.length;
}

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** `[event, code]` or `[event, code, node]` entries. */
function refusals(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const r of v) {
    if (!Array.isArray(r) || (r.length !== 2 && r.length !== 3)) return false;
    if (!uint(r[0]) || typeof r[1] !== "string" || !CODE.test(r[1])) return false;
    if (r.length === 3 && !uint(r[2])) return false;
  }
  return true;
}

/** `[event, nodes]` entries. */
function destroyedList(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const d of v) if (!Array.isArray(d) || d.length !== 2 || !uint(d[0]) || !nodes(d[1])) return false;
  return true;
}

/** An optional 64-byte signature: absent, or bytes of that length. */
function optionalSig(v: unknown): boolean {
  return v === undefined || (v instanceof Uint8Array && v.byteLength === 64);
}

/** A stages frame's optional receiver lists (both or neither; one group index per event). */
function receiverGroups(groups: unknown, receivers: unknown, events: unknown): boolean {
  if (groups === undefined || receivers === undefined) return groups === receivers;
  if (!Array.isArray(groups) || groups.length === 0 || !Array.isArray(receivers) || !Array.isArray(events))
    return false;
  for (const g of groups) if (!peerIds(g)) return false;
  if (receivers.length !== events.length) return false;
  for (const i of receivers) if (!uint(i) || (i as number) >= groups.length) return false;
  return true;
}

/** A commits frame's optional signature fields: all three or none. */
function batchSig(f: FrameFields): boolean {
  if (f.sig === undefined) return f.last === undefined && f.skip === undefined;
  if (!optionalSig(f.sig) || !uint(f.last) || (f.last as number) < (f.event as number)) return false;
  if (!Array.isArray(f.skip)) return false;
  for (const n of f.skip) if (!uint(n)) return false;
  return true;
}

/** An optional trailing field: absent, or a non-empty list of tuples of uints (B7's runs). */
function runs(v: unknown, width: number, countAt = -1): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const r of v) {
    if (!Array.isArray(r) || r.length !== width) return false;
    for (let i = 0; i < width; i++) if (!(i === countAt ? seq1(r[i]) : uint(r[i]))) return false;
  }
  return true;
}

// `payload` is any value (z.unknown()): the profile check has already bounded it.
const sequenced = (f: FrameFields, seq: unknown, ack: unknown): boolean =>
  seq1(seq) && uint(ack) && uint(f.event);

/** Fast validators by frame type; other types go through zod alone. */
export const FAST_VALIDATORS: Readonly<Partial<Record<string, FastValidator>>> = {
  unicast: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) && uint(f.clock) && uint(f.node) && runs(f.accepted, 3, 1),
  accept: (f, seq = f.seq, ack = f.ack) => sequenced(f, seq, ack) && uint(f.lamport),
  propose: (f, seq = f.seq, ack = f.ack) => sequenced(f, seq, ack) && uint(f.lamport),
  ack: (f, seq = f.seq, ack = f.ack) => seq === 0 && uint(ack),
  commit: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) && uint(f.lamport) && handleRefs(f.dead) && optionalSig(f.sig),
  stage: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) &&
    uint(f.clock) &&
    nodes(f.nodes) &&
    handleRefs(f.handles) &&
    peerIds(f.receivers),
  unicasts: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) &&
    uint(f.clock) &&
    uints(f.to) &&
    parallel(f.to, f.payloads) &&
    runs(f.accepted, 3, 1),
  accepts: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) && seq1(f.count) && uint(f.lamport) && refusals(f.refusals) && runs(f.more, 3, 1),
  stages: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) &&
    uint(f.clock) &&
    increasing(f.events) &&
    parallel(f.events, f.payloads) &&
    parallel(f.targets, f.payloads) &&
    (f.targets as unknown[]).every(nodes) &&
    receiverGroups(f.groups, f.receivers, f.events),
  proposals: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) &&
    uint(f.lamport) &&
    refusals(f.refusals) &&
    destroyedList(f.destroyed) &&
    runs(f.more, 2),
  commits: (f, seq = f.seq, ack = f.ack) =>
    sequenced(f, seq, ack) && uint(f.lamport) && increasing(f.events) && batchSig(f),
};
