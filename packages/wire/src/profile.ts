/**
 * Byte-level check that a frame is one CBOR item in the capbus profile (spec/wire.md §CBOR),
 * run before cbor-x sees the bytes. cbor-x alone is too lenient for frames from other peers: it
 * turns tags into Maps, Sets, Dates and typed arrays, replaces invalid UTF-8, renames
 * `__proto__` keys and stringifies non-text keys. Checking the bytes first keeps every decoded
 * frame inside the data model and makes each refusal name a stable code.
 */
import { WireError, WireErrorCode } from "./errors.js";

const MAX_SAFE_HIGH = 0x1fffff; // high 32 bits of 2^53 - 1

/**
 * What a decoded item costs in memory at most, in bytes, by kind (spec/wire.md §8): measured on
 * V8 (Node 20, 64-bit, no pointer compression) for the costliest shapes found, with some room.
 * Each includes the item's 8-byte slot in its container. A payload of many empty maps decodes to
 * about 64 times its wire size, so charging wire bytes would let a peer hold far more than its share.
 */
export const DECODED_COST = {
  /** The frame object built around the decoded array (its type, seq, ack and field keys). */
  frame: 128,
  /** An integer or float: a heap number when it is not a small integer. */
  number: 32,
  /** true, false, null: shared values, the slot only. */
  simple: 8,
  /** A text string's header; its content costs 1 byte a character if ASCII, else at most 2 a byte. */
  text: 48,
  /** A byte string's Uint8Array and ArrayBuffer objects; its content costs its length. */
  bytes: 232,
  /** An array's object and header; its elements cost what they are. */
  array: 56,
  /** A map's object. */
  map: 72,
  /** Each map entry beyond its key and value: property storage, and a hidden class per new key set. */
  entry: 96,
} as const;
/**
 * The most one encoded byte can decode to (DECODED_COST): an empty byte string, 1 byte on the
 * wire (a map entry costs 96 more, but takes a key and a value, 2 bytes at least). A frame of
 * n bytes decodes to at most `DECODED_COST.frame + n × MAX_EXPANSION`.
 */
export const MAX_EXPANSION = DECODED_COST.bytes;

const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

function notWellFormed(what: string, at: number): WireError {
  return new WireError(WireErrorCode.E_CBOR, `${what} at byte ${at}`);
}

/** Walks one item; `at` is the position after the previous item. State lives in one instance per call. */
class ProfileScan {
  private at = 0;
  /** Index of the top-level array element being scanned, or -1 outside it. */
  private topIndex = -1;
  /** Bit i set: top-level element i (any i >= 31 sets bit 31) is or contains a float. */
  floatMask = 0;
  /** A bound on the decoded frame's memory, summed per item (DECODED_COST). */
  decodedBytes = DECODED_COST.frame;
  private readonly bytes: Uint8Array;
  private readonly maxDepth: number;
  private readonly maxDecoded: number;

  constructor(bytes: Uint8Array, maxDepth: number, maxDecoded: number) {
    this.bytes = bytes;
    this.maxDepth = maxDepth;
    this.maxDecoded = maxDecoded;
  }

  run(): void {
    this.item(0);
    if (this.at !== this.bytes.length) throw notWellFormed("trailing bytes after the frame", this.at);
    this.bounded(this.at);
  }

  /**
   * The decoded size so far within maxDecodedBytes? Checked at every container and at the end:
   * containers are where a frame multiplies (an empty map: 1 byte, ~170 decoded), so a hostile
   * one is refused after scanning about maxDecodedBytes / 64 of its bytes, and never decoded.
   */
  private bounded(at: number): void {
    if (this.decodedBytes > this.maxDecoded) {
      throw new WireError(
        WireErrorCode.E_TOO_LARGE,
        `decoded size above maxDecodedBytes (${this.maxDecoded}) at byte ${at}`,
      );
    }
  }

  /** Reads a head's argument; fails on truncation. Values beyond 2^53 come back as Infinity. */
  private argument(info: number, start: number): number {
    const b = this.bytes;
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8;
    if (this.at + size > b.length) throw notWellFormed("truncated head", start);
    const p = this.at;
    this.at += size;
    if (size === 1) return b[p]!;
    if (size === 2) return (b[p]! << 8) | b[p + 1]!;
    if (size === 4) return uint32(b, p);
    const high = uint32(b, p);
    const low = uint32(b, p + 4);
    return high > MAX_SAFE_HIGH ? Number.POSITIVE_INFINITY : high * 0x100000000 + low;
  }

  /** `depth` is the depth of the enclosing container (0 for the top-level item). */
  private item(depth: number): void {
    const b = this.bytes;
    const start = this.at;
    if (start >= b.length) throw notWellFormed("truncated: item expected", start);
    const initial = b[this.at++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      this.simple(info, start);
      this.decodedBytes +=
        info === 20 || info === 21 || info === 22 ? DECODED_COST.simple : DECODED_COST.number;
      return;
    }
    if (info === 31) throw notWellFormed("indefinite length", start);
    if (info > 27) throw notWellFormed("reserved additional information", start);
    const arg = this.argument(info, start);
    switch (major) {
      case 0:
        if (arg > Number.MAX_SAFE_INTEGER) throw unsafe(start);
        this.decodedBytes += DECODED_COST.number;
        return;
      case 1:
        // -1 - arg must stay >= -(2^53 - 1)
        if (arg > Number.MAX_SAFE_INTEGER - 1) throw unsafe(start);
        this.decodedBytes += DECODED_COST.number;
        return;
      case 2:
        this.skip(arg, start);
        this.decodedBytes += DECODED_COST.bytes + arg;
        return;
      case 3: {
        this.skip(arg, start);
        const kind = utf8Kind(b, this.at - arg, this.at);
        if (kind === UTF8_INVALID) throw notWellFormed("invalid UTF-8 in text string", start);
        // A string with any character beyond Latin-1 is stored two bytes a character.
        this.decodedBytes += DECODED_COST.text + (kind === UTF8_ASCII ? arg : 2 * arg);
        return;
      }
      case 4:
        this.decodedBytes += DECODED_COST.array;
        this.enter(depth, start);
        if (depth === 0) {
          for (let i = 0; i < arg; i++) {
            this.topIndex = i;
            this.item(1);
          }
          this.topIndex = -1;
        } else {
          for (let i = 0; i < arg; i++) this.item(depth + 1);
        }
        return;
      case 5:
        this.enter(depth, start);
        this.decodedBytes += DECODED_COST.map;
        this.map(arg, depth + 1);
        return;
      default: // 6: tags are outside the profile
        throw notWellFormed("tag", start);
    }
  }

  private simple(info: number, start: number): void {
    // false, true, null; floats of any width (encoders write float64, decoders accept all)
    if (info === 20 || info === 21 || info === 22) return;
    const size = info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw notWellFormed("simple value outside the profile", start);
    if (this.at + size > this.bytes.length) throw notWellFormed("truncated float", start);
    this.at += size;
    if (this.topIndex >= 0) this.floatMask |= 1 << Math.min(this.topIndex, 31);
  }

  private skip(length: number, start: number): void {
    if (length > this.bytes.length - this.at) throw notWellFormed("truncated string", start);
    this.at += length;
  }

  private enter(depth: number, start: number): void {
    if (depth + 1 > this.maxDepth) {
      throw new WireError(WireErrorCode.E_TOO_LARGE, `nesting deeper than ${this.maxDepth} at byte ${start}`);
    }
    this.bounded(start);
  }

  /**
   * Map keys must be distinct text strings; `"__proto__"` is refused as cbor-x would rename it.
   * Small maps (every frame's own) compare keys pairwise; larger ones (a payload's) use a set, so a
   * hostile map of many equal-length keys costs linear time, not quadratic (spec/security.md).
   */
  private map(entries: number, depth: number): void {
    if (entries > SMALL_MAP) return this.largeMap(entries, depth);
    const b = this.bytes;
    const keys: number[] = []; // [contentStart, contentEnd] pairs
    for (let i = 0; i < entries; i++) {
      const keyStart = this.at;
      const begin = this.key(depth);
      const length = this.at - begin;
      for (let k = 0; k < keys.length; k += 2) {
        if (keys[k + 1]! - keys[k]! === length && equalRanges(b, keys[k]!, begin, length)) {
          throw notWellFormed("duplicate map key", keyStart);
        }
      }
      keys.push(begin, this.at);
      this.decodedBytes += DECODED_COST.entry;
      this.item(depth);
    }
  }

  private largeMap(entries: number, depth: number): void {
    const b = this.bytes;
    // Every entry takes at least two bytes: a claimed count beyond that is truncation, found
    // before the table below is sized by it.
    if (entries > (b.length - this.at) / 2) throw notWellFormed("truncated map", this.at);
    // Open addressing over the keys' byte ranges: no string per key, one table per map.
    const mask = (1 << Math.ceil(Math.log2(entries * 2))) - 1;
    const starts = new Int32Array(mask + 1).fill(-1);
    const lengths = new Int32Array(mask + 1);
    for (let i = 0; i < entries; i++) {
      const keyStart = this.at;
      const begin = this.key(depth);
      const length = this.at - begin;
      let slot = fnv1a(b, begin, this.at) & mask;
      for (; starts[slot] !== -1; slot = (slot + 1) & mask) {
        if (lengths[slot] === length && equalRanges(b, starts[slot]!, begin, length))
          throw notWellFormed("duplicate map key", keyStart);
      }
      starts[slot] = begin;
      lengths[slot] = length;
      this.decodedBytes += DECODED_COST.entry;
      this.item(depth);
    }
  }

  /**
   * Scan one map key: a text string, not `"__proto__"` (cbor-x would rename it). Returns where its
   * content starts; it ends at `this.at`.
   */
  private key(depth: number): number {
    const b = this.bytes;
    const keyStart = this.at;
    if (keyStart < b.length && b[keyStart]! >> 5 !== 3)
      throw notWellFormed("map key is not a text string", keyStart);
    this.item(depth);
    const begin = this.at - this.textLength(keyStart);
    if (sameBytes(b, begin, this.at, PROTO_KEY)) {
      throw new WireError(WireErrorCode.E_SCHEMA, `map key "__proto__" at byte ${keyStart}`);
    }
    return begin;
  }

  /** Content length of the (already scanned, so well-formed) text string whose head is at `start`. */
  private textLength(start: number): number {
    const info = this.bytes[start]! & 0x1f;
    const saved = this.at;
    this.at = start + 1;
    const length = this.argument(info, start);
    this.at = saved;
    return length;
  }
}

/** Maps up to this many entries check their keys pairwise (no allocation); larger ones hash them. */
const SMALL_MAP = 16;

/**
 * FNV-1a over a byte range, from a basis drawn once per process: a peer cannot precompute keys
 * that collide here and make the table quadratic (V8 seeds its string hashes the same way).
 */
const HASH_BASIS = (Math.random() * 0x100000000) >>> 0;

function fnv1a(b: Uint8Array, begin: number, end: number): number {
  let h = HASH_BASIS;
  for (let i = begin; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** Big-endian uint32; no DataView, as building one per frame costs more than the scan. */
function uint32(b: Uint8Array, p: number): number {
  return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

function unsafe(at: number): WireError {
  return new WireError(WireErrorCode.E_SCHEMA, `integer outside ±(2^53-1) at byte ${at}`);
}

function sameBytes(b: Uint8Array, begin: number, end: number, expected: readonly number[]): boolean {
  if (end - begin !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (b[begin + i] !== expected[i]) return false;
  return true;
}

function equalRanges(b: Uint8Array, x: number, y: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

/** Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
export function isUtf8(b: Uint8Array, from: number, to: number): boolean {
  return utf8Kind(b, from, to) !== UTF8_INVALID;
}

const UTF8_INVALID = 0;
const UTF8_ASCII = 1;
const UTF8_WIDE = 2;

/** Whether a byte range is strict UTF-8 and, if so, whether it is all ASCII (one byte a character decoded). */
function utf8Kind(b: Uint8Array, from: number, to: number): number {
  let i = from;
  let kind = UTF8_ASCII;
  while (i < to) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    kind = UTF8_WIDE;
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return UTF8_INVALID;
    if (i + need >= to) return UTF8_INVALID;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return UTF8_INVALID;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return UTF8_INVALID;
    i += need + 1;
  }
  return kind;
}

/**
 * Throws a WireError unless `bytes` is exactly one item in the capbus CBOR profile whose arrays
 * and maps nest no deeper than `maxDepth`, and whose decoded size stays within `maxDecodedBytes`. Returns which top-level array elements hold floats
 * (cbor-x decodes 1.0 and 1 alike, and only the payload of a frame may hold floats), and a bound
 * on the memory the decoded frame takes (`decodedBytes`, summed by DECODED_COST).
 */
export function checkProfile(
  bytes: Uint8Array,
  maxDepth: number,
  maxDecodedBytes = Number.POSITIVE_INFINITY,
): { readonly floatMask: number; readonly decodedBytes: number } {
  const scan = new ProfileScan(bytes, maxDepth, maxDecodedBytes);
  scan.run();
  return scan;
}
