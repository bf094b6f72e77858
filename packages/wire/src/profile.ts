/**
 * The frame decoder: reads one CBOR item in the capbus profile (spec/wire.md §2) and builds
 * its value in the same pass. cbor-x's decoder is too lenient for frames from other peers (it
 * turns tags into Maps, Sets, Dates and typed arrays, replaces invalid UTF-8, renames
 * `__proto__` keys and stringifies non-text keys) and walking the bytes twice, once to check
 * them and once in cbor-x, cost a third of a frame's decode. Reading only the profile keeps
 * every decoded frame inside the data model and makes each refusal name a stable code.
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

function notWellFormed(what: string, at: number): WireError {
  return new WireError(WireErrorCode.E_CBOR, `${what} at byte ${at}`);
}

/**
 * Walks one item and builds its value in the same pass (one walk of the bytes, not a check and
 * then cbor-x's decode): what cbor-x's decoder builds with the options in test/cbor-x.test.ts
 * (a test holds the two equal), i.e. plain arrays, plain objects for maps, numbers, strings, and
 * byte strings copied out of the input. `at` is the position after the previous item. One
 * reader serves many reads (a FrameCodec keeps one): each read starts from `reset`.
 */
export class ProfileReader {
  private at = 0;
  /** Index of the top-level array element being read, or -1 outside it. */
  private topIndex = -1;
  /** Bit i set: top-level element i (any i >= 31 sets bit 31) is or contains a float. */
  floatMask = 0;
  /** A bound on the decoded frame's memory, summed per item (DECODED_COST). */
  decodedBytes: number = DECODED_COST.frame;
  /**
   * A frame's top-level elements after `readFrame` (the first `topLength`): read into this
   * reused array rather than a new one per frame, as the frame object is built from them.
   */
  readonly top: unknown[] = [];
  topLength = 0;
  /** Reading now: a nested read (none is expected) must take a reader of its own. */
  busy = false;
  private bytes: Uint8Array = NO_BYTES;
  private readonly maxDepth: number;
  private readonly maxDecoded: number;
  /** Made on the first float only: most frames have none, and a DataView per frame costs. */
  private view: DataView | undefined;

  constructor(maxDepth: number, maxDecoded: number) {
    this.maxDepth = maxDepth;
    this.maxDecoded = maxDecoded;
  }

  private reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.at = 0;
    this.topIndex = -1;
    this.floatMask = 0;
    this.decodedBytes = DECODED_COST.frame;
    this.view = undefined;
  }

  /** Reads `bytes` as one item (readProfile). */
  read(bytes: Uint8Array): unknown {
    this.reset(bytes);
    const value = this.item(0);
    this.end();
    return value;
  }

  /**
   * Reads `bytes` as one item, as `read`; when it is an array of at most MAX_TOP elements, they
   * go into `top` (`topLength` of them; the caller clears them with `release`) and this returns
   * `top`, else the value itself. Same checks, in the same order, as `read`.
   */
  readFrame(bytes: Uint8Array): unknown {
    this.reset(bytes);
    const initial = bytes.length === 0 ? 0 : bytes[0]!;
    // An array head of a short count (no longer frame exists): its items go into `top`.
    if (
      initial >> 5 !== 4 ||
      (initial & 0x1f) > 24 ||
      (initial === 0x98 && (bytes.length < 2 || bytes[1]! > MAX_TOP))
    ) {
      const value = this.item(0);
      this.end();
      return value;
    }
    this.at = 1;
    const count = this.argument(initial & 0x1f, 0);
    this.decodedBytes += DECODED_COST.array;
    this.enter(0, 0);
    const top = this.top;
    this.topLength = 0;
    for (let i = 0; i < count; i++) {
      this.topIndex = i;
      top[i] = this.item(1);
      this.topLength = i + 1;
    }
    this.topIndex = -1;
    this.end();
    return top;
  }

  /** Clears `top` and the input, so the reader keeps none of the frame alive. */
  release(): void {
    const top = this.top;
    for (let i = 0; i < top.length; i++) top[i] = undefined;
    this.topLength = 0;
    this.bytes = NO_BYTES;
    this.view = undefined;
  }

  private end(): void {
    if (this.at !== this.bytes.length) throw notWellFormed("trailing bytes after the frame", this.at);
    this.bounded(this.at);
  }

  /**
   * The decoded size so far within maxDecodedBytes? Checked at every container and at the end:
   * containers are where a frame multiplies (an empty map: 1 byte, ~170 decoded), so a hostile
   * one is refused after reading about maxDecodedBytes / 64 of its bytes.
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
  private item(depth: number): unknown {
    const b = this.bytes;
    const start = this.at;
    if (start >= b.length) throw notWellFormed("truncated: item expected", start);
    const initial = b[this.at++]!;
    // An unsigned integer (major 0, a head of at most 8 bytes): the commonest item, read first.
    if (initial <= 0x1b) {
      const n = this.argument(initial, start);
      if (n > Number.MAX_SAFE_INTEGER) throw unsafe(start);
      this.decodedBytes += DECODED_COST.number;
      return n;
    }
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simple(info, start);
    if (info === 31) throw notWellFormed("indefinite length", start);
    if (info > 27) throw notWellFormed("reserved additional information", start);
    const arg = this.argument(info, start);
    switch (major) {
      // major 0 (unsigned integers) is read above
      case 1:
        // -1 - arg must stay >= -(2^53 - 1)
        if (arg > Number.MAX_SAFE_INTEGER - 1) throw unsafe(start);
        this.decodedBytes += DECODED_COST.number;
        return -1 - arg;
      case 2:
        this.skip(arg, start);
        this.decodedBytes += DECODED_COST.bytes + arg;
        // A copy: the frame must not alias (and keep alive) the transport's receive buffer.
        return b.slice(this.at - arg, this.at);
      case 3:
        return this.text(arg, start);
      case 4: {
        this.decodedBytes += DECODED_COST.array;
        this.enter(depth, start);
        const items = new Array<unknown>(arg > b.length - this.at ? 0 : arg);
        if (depth === 0) {
          for (let i = 0; i < arg; i++) {
            this.topIndex = i;
            items[i] = this.item(1);
          }
          this.topIndex = -1;
        } else {
          for (let i = 0; i < arg; i++) items[i] = this.item(depth + 1);
        }
        return items;
      }
      case 5:
        this.decodedBytes += DECODED_COST.map;
        this.enter(depth, start);
        return this.map(arg, depth + 1);
      default: // 6: tags are outside the profile
        throw notWellFormed("tag", start);
    }
  }

  private text(length: number, start: number): string {
    const b = this.bytes;
    this.skip(length, start);
    const from = this.at - length;
    const kind = utf8Kind(b, from, this.at);
    if (kind === UTF8_INVALID) throw notWellFormed("invalid UTF-8 in text string", start);
    // A string with any character beyond Latin-1 is stored two bytes a character.
    this.decodedBytes += DECODED_COST.text + (kind === UTF8_ASCII ? length : 2 * length);
    if (kind !== UTF8_ASCII || length === 0 || length > INTERN_MAX)
      return UTF8.decode(b.subarray(from, this.at));
    return interned(b, from, length);
  }

  private simple(info: number, start: number): unknown {
    // false, true, null; floats of any width (encoders write float64, decoders accept all)
    if (info === 20 || info === 21 || info === 22) {
      this.decodedBytes += DECODED_COST.simple;
      return info === 20 ? false : info === 21 ? true : null;
    }
    const size = info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw notWellFormed("simple value outside the profile", start);
    if (this.at + size > this.bytes.length) throw notWellFormed("truncated float", start);
    const p = this.at;
    this.at += size;
    if (this.topIndex >= 0) this.floatMask |= 1 << Math.min(this.topIndex, 31);
    this.decodedBytes += DECODED_COST.number;
    const b = this.bytes;
    if (size === 2) return float16((b[p]! << 8) | b[p + 1]!);
    this.view ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
    return size === 4 ? this.view.getFloat32(p) : this.view.getFloat64(p);
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
   * Map keys must be distinct text strings; `"__proto__"` is refused (cbor-x would rename it, and
   * on a plain object it would set the prototype). Keys are compared as decoded strings, which is
   * comparing their bytes (strict UTF-8 decodes one-to-one); an object's own-key lookup is hashed
   * with a per-process seed, so a map of many keys costs linear time (spec/security.md).
   */
  private map(entries: number, depth: number): Record<string, unknown> {
    const b = this.bytes;
    // Every entry takes at least two bytes: a large claimed count beyond that is truncation,
    // found before the entries are read (small maps find it where the bytes end).
    if (entries > SMALL_MAP && entries > (b.length - this.at) / 2)
      throw notWellFormed("truncated map", this.at);
    const object: Record<string, unknown> = {};
    for (let i = 0; i < entries; i++) {
      const keyStart = this.at;
      if (keyStart < b.length && b[keyStart]! >> 5 !== 3)
        throw notWellFormed("map key is not a text string", keyStart);
      const key = this.item(depth) as string;
      if (key === "__proto__") {
        throw new WireError(WireErrorCode.E_SCHEMA, `map key "__proto__" at byte ${keyStart}`);
      }
      if (Object.hasOwn(object, key)) throw notWellFormed("duplicate map key", keyStart);
      this.decodedBytes += DECODED_COST.entry;
      object[key] = this.item(depth);
    }
    return object;
  }
}

/** Top-level arrays up to this long are read into ProfileReader.top; longer ones are no frame. */
const MAX_TOP = 24;
const NO_BYTES = new Uint8Array(0);
/** Maps of more entries than this are checked for truncation before they are read. */
const SMALL_MAP = 16;
/** ASCII strings up to this long are built by char codes: cheaper than a TextDecoder call. */
const SHORT_ASCII = 16;
/**
 * ASCII strings up to this long (a peer id's most, spec/wire.md) are interned: a stage frame
 * carries its receivers' ids, the same few strings every event, and decoding them afresh cost a
 * subarray and a string each (~1.3 KB an event at 8 receivers), kept alive in retained finals.
 */
const INTERN_MAX = 128;
/**
 * Sets of the intern table (a power of 2), two slots a set: ids that meet in a set both stay (a
 * direct-mapped table made two ids of one run evict each other every event), a third replaces
 * the set's least recently used.
 */
const INTERN_SETS = 256;
/** Each slot's bytes (INTERN_MAX a slot), its length (0: empty) and its string; per set, its slot used last. */
const internBytes = new Uint8Array(2 * INTERN_SETS * INTERN_MAX);
const internLength = new Uint8Array(2 * INTERN_SETS);
const internString: string[] = new Array<string>(2 * INTERN_SETS).fill("");
const internRecent = new Uint8Array(INTERN_SETS);

/**
 * The string of the ASCII bytes `b[from, from + length)` (1 <= length <= INTERN_MAX), the same
 * string as last time for the same bytes: a fixed table shared by every reader, so memory stays
 * bounded whatever comes in; a hit needs exact byte equality, so a collision only costs a decode.
 */
function interned(b: Uint8Array, from: number, length: number): string {
  const to = from + length;
  let h = length;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const set = (h ^ (h >>> 15)) & (INTERN_SETS - 1);
  for (let way = 0; way < 2; way++) {
    const slot = 2 * set + way;
    if (internLength[slot] === length && sameBytes(b, from, slot * INTERN_MAX, length)) {
      internRecent[set] = way;
      return internString[slot]!;
    }
  }
  let out: string;
  if (length <= SHORT_ASCII) {
    out = "";
    for (let i = from; i < to; i++) out += String.fromCharCode(b[i]!);
  } else out = UTF8.decode(b.subarray(from, to));
  const way = internRecent[set]! ^ 1;
  const slot = 2 * set + way;
  const base = slot * INTERN_MAX;
  for (let i = 0; i < length; i++) internBytes[base + i] = b[from + i]!;
  internLength[slot] = length;
  internString[slot] = out;
  internRecent[set] = way;
  return out;
}

function sameBytes(b: Uint8Array, from: number, base: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (internBytes[base + i] !== b[from + i]) return false;
  return true;
}

/** Input is already checked strict UTF-8 when this decodes it. */
const UTF8 = new TextDecoder();

/** IEEE 754 half precision to a number. */
function float16(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Big-endian uint32; no DataView, as building one per frame costs more than the scan. */
function uint32(b: Uint8Array, p: number): number {
  return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

function unsafe(at: number): WireError {
  return new WireError(WireErrorCode.E_SCHEMA, `integer outside ±(2^53-1) at byte ${at}`);
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
 * Decodes `bytes`, which must be exactly one item in the capbus CBOR profile whose arrays and
 * maps nest no deeper than `maxDepth` and whose decoded size stays within `maxDecodedBytes`, else
 * throws a WireError (before building more than that). Returns the value, which
 * top-level array elements hold floats (1.0 and 1 decode alike, and only the payload of a frame
 * may hold floats), and a bound on the memory the decoded value takes (`decodedBytes`, summed
 * by DECODED_COST).
 */
export function readProfile(
  bytes: Uint8Array,
  maxDepth: number,
  maxDecodedBytes = Number.POSITIVE_INFINITY,
): { readonly value: unknown; readonly floatMask: number; readonly decodedBytes: number } {
  const reader = new ProfileReader(maxDepth, maxDecodedBytes);
  const value = reader.read(bytes);
  return { value, floatMask: reader.floatMask, decodedBytes: reader.decodedBytes };
}
