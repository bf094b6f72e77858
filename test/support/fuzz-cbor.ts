/**
 * A small CBOR writer for hostile frames. `FrameCodec.encode` refuses anything that is not a
 * valid frame, so fuzzing writes its own bytes: any tuple, any field type, any frame type code,
 * raw heads spliced in. Integers use preferred heads, other numbers float64 (spec/wire.md §2).
 */
import { FRAME_CODES, type Frame } from "@capbus/wire";

/** Bytes copied into the output as they are (a head, a broken item). */
export class RawCbor {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

export type Cbor =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | RawCbor
  | readonly Cbor[]
  | { readonly [key: string]: Cbor };

const MAX = Number.MAX_SAFE_INTEGER;
const text = new TextEncoder();

class Writer {
  out = new Uint8Array(256);
  at = 0;

  reserve(n: number): void {
    if (this.at + n <= this.out.length) return;
    const bigger = new Uint8Array(Math.max(this.out.length * 2, this.at + n));
    bigger.set(this.out.subarray(0, this.at));
    this.out = bigger;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.out.set(b, this.at);
    this.at += b.length;
  }

  head(major: number, n: number): void {
    this.reserve(9);
    const o = this.out;
    const m = major << 5;
    if (n < 24) o[this.at++] = m | n;
    else if (n < 0x100) {
      o[this.at++] = m | 24;
      o[this.at++] = n;
    } else if (n < 0x10000) {
      o[this.at++] = m | 25;
      o[this.at++] = n >> 8;
      o[this.at++] = n & 0xff;
    } else if (n < 0x100000000) {
      o[this.at++] = m | 26;
      new DataView(o.buffer).setUint32(this.at, n);
      this.at += 4;
    } else {
      o[this.at++] = m | 27;
      const view = new DataView(o.buffer);
      view.setUint32(this.at, Math.floor(n / 0x100000000));
      view.setUint32(this.at + 4, n >>> 0);
      this.at += 8;
    }
  }

  value(v: Cbor): void {
    if (v === null) return this.bytes(Uint8Array.of(0xf6));
    if (v === true) return this.bytes(Uint8Array.of(0xf5));
    if (v === false) return this.bytes(Uint8Array.of(0xf4));
    if (typeof v === "number") {
      if (Number.isInteger(v) && Math.abs(v) <= MAX) return v >= 0 ? this.head(0, v) : this.head(1, -1 - v);
      this.reserve(9);
      this.out[this.at++] = 0xfb;
      new DataView(this.out.buffer).setFloat64(this.at, v);
      this.at += 8;
      return;
    }
    if (typeof v === "string") {
      const b = text.encode(v);
      this.head(3, b.length);
      return this.bytes(b);
    }
    if (v instanceof Uint8Array) {
      this.head(2, v.length);
      return this.bytes(v);
    }
    if (v instanceof RawCbor) return this.bytes(v.bytes);
    if (Array.isArray(v)) {
      this.head(4, v.length);
      for (const item of v as readonly Cbor[]) this.value(item);
      return;
    }
    const entries = Object.entries(v as { readonly [key: string]: Cbor });
    this.head(5, entries.length);
    for (const [key, item] of entries) {
      this.value(key);
      this.value(item);
    }
  }
}

export function encodeCbor(value: Cbor): Uint8Array {
  const w = new Writer();
  w.value(value);
  return w.out.slice(0, w.at);
}

/** Field order after `[type, seq, ack]` of every frame type (spec/wire.md §5). */
export const FIELDS: { readonly [T in Frame["type"]]: readonly string[] } = {
  hello: ["versions", "peer", "key", "nonce", "session"],
  stage: ["event", "clock", "nodes", "payload", "handles", "receivers"],
  propose: ["event", "lamport"],
  commit: ["event", "lamport", "dead"],
  abort: ["event"],
  unicast: ["event", "clock", "node", "payload"],
  accept: ["event", "lamport"],
  reject: ["event", "code"],
  ack: [],
  close: ["code", "reason"],
  notice: ["event", "clock", "nodes", "receivers"],
  dead: ["event", "lamport", "nodes"],
  destroy: ["event", "clock", "nodes"],
  release: ["event", "clock", "node", "count", "holder"],
  auth: ["sig"],
  endpoints: ["peer", "urls"],
  claim: ["event", "secret"],
  granted: ["event", "node"],
  unicasts: ["event", "clock", "to", "payloads"],
  accepts: ["event", "count", "lamport", "refusals"],
  stages: ["event", "clock", "events", "targets", "payloads"],
  proposals: ["event", "lamport", "refusals", "destroyed"],
  commits: ["event", "lamport", "events"],
  query: ["sender", "event"],
  committed: ["sender", "event", "lamport", "dead", "sig", "first", "last", "skip"],
  fenced: ["sender", "event"],
  gone: ["sender", "event"],
};

/** Optional trailing fields (spec/wire.md §4): written when present, in order. */
export const OPTIONAL_FIELDS: { readonly [T in Frame["type"]]?: readonly string[] } = {
  reject: ["node"],
  hello: ["time"],
  commit: ["sig"],
  unicast: ["accepted"],
  unicasts: ["accepted"],
  accepts: ["more"],
  stages: ["groups", "receivers"],
  proposals: ["more"],
  commits: ["sig", "last", "skip"],
};

/** The wire tuple of a frame: `[code, seq, ack, ...fields]`, handle refs as `[owner, node]`. */
export function frameTuple(frame: Frame): Cbor[] {
  const fields = frame as unknown as Readonly<Record<string, unknown>>;
  const tuple: Cbor[] = [FRAME_CODES[frame.type], frame.seq, frame.ack];
  for (const name of FIELDS[frame.type]) {
    const value = fields[name];
    if (name === "handles" || name === "dead") {
      tuple.push((value as readonly { owner: string; node: number }[]).map((h) => [h.owner, h.node]));
    } else tuple.push(value as Cbor);
  }
  for (const name of OPTIONAL_FIELDS[frame.type] ?? []) {
    if (fields[name] === undefined) break;
    tuple.push(fields[name] as Cbor);
  }
  return tuple;
}
