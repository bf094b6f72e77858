/**
 * The frame encoder: writes frames as preferred-serialization CBOR (spec/wire.md §2) straight
 * from the frame object, checking the payload's data model (§3) as it writes it. One walk of
 * the payload, where checking it, copying it to widen large integers and then cbor-x's generic
 * encode took three, and no tuple built per frame. The bytes are what cbor-x wrote with the
 * codec's former options (shortest heads, float64 for every non-integer, -0 as 0); a property
 * test holds the two equal.
 */
import { WireError, WireErrorCode } from "./errors.js";
import { isWellFormed } from "./text.js";

/** Frames are written one after another into a slab of this size that is never rewritten. */
const SLAB = 16 * 1024;
const TWO_32 = 0x100000000;
const UTF8 = new TextEncoder();

function refuse(what: string): WireError {
  return new WireError(WireErrorCode.E_PAYLOAD, `payload holds ${what}`);
}

function describe(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? name : "non-plain object";
}

/**
 * Writes CBOR items into slabs. A frame is written by `begin`, item writes and `end`, which
 * returns a view of its bytes; the slab behind a returned view is never written again, so
 * views stay valid (and share the slab's memory) without a copy per frame.
 */
export class CborWriter {
  #slab = new Uint8Array(SLAB);
  #view = new DataView(this.#slab.buffer);
  /** Where the frame being written starts, and the next byte. */
  #start = 0;
  #at = 0;

  begin(): void {
    this.#at = this.#start;
  }

  /** The frame written since `begin`, as a view of the slab. */
  end(): Uint8Array {
    const out = new Uint8Array(this.#slab.buffer, this.#start, this.#at - this.#start);
    this.#start = this.#at;
    return out;
  }

  /** Drops what was written since `begin` (the frame failed). */
  abandon(): void {
    this.#at = this.#start;
  }

  get length(): number {
    return this.#at - this.#start;
  }

  /** Makes room for `n` more bytes, moving the frame so far into a fresh slab when it must. */
  #room(n: number): void {
    if (this.#at + n <= this.#slab.length) return;
    const used = this.#at - this.#start;
    const slab = new Uint8Array(Math.max(SLAB, (used + n) * 2));
    slab.set(this.#slab.subarray(this.#start, this.#at));
    this.#slab = slab;
    this.#view = new DataView(slab.buffer);
    this.#start = 0;
    this.#at = used;
  }

  /** A head: major type and argument (a safe integer), in its shortest form. */
  head(major: number, arg: number): void {
    this.#room(9);
    const s = this.#slab;
    const m = major << 5;
    if (arg < 24) s[this.#at++] = m | arg;
    else if (arg < 0x100) {
      s[this.#at++] = m | 24;
      s[this.#at++] = arg;
    } else if (arg < 0x10000) {
      s[this.#at++] = m | 25;
      s[this.#at++] = arg >> 8;
      s[this.#at++] = arg & 0xff;
    } else if (arg < TWO_32) {
      s[this.#at++] = m | 26;
      this.#view.setUint32(this.#at, arg);
      this.#at += 4;
    } else {
      s[this.#at++] = m | 27;
      this.#view.setUint32(this.#at, Math.floor(arg / TWO_32));
      this.#view.setUint32(this.#at + 4, arg >>> 0);
      this.#at += 8;
    }
  }

  /** A safe integer as an integer (-0 as 0), anything else as a float64. */
  number(n: number): void {
    if (Number.isSafeInteger(n)) {
      if (n >= 0) this.head(0, n);
      else this.head(1, -1 - n);
      return;
    }
    this.#room(9);
    this.#slab[this.#at++] = 0xfb;
    this.#view.setFloat64(this.#at, n);
    this.#at += 8;
  }

  /** A well-formed string as a text string. */
  text(s: string): void {
    const length = s.length;
    // ASCII, the common case, one byte a character: the head is known before the content.
    let ascii = length < 0x100;
    for (let i = 0; ascii && i < length; i++) if (s.charCodeAt(i) >= 0x80) ascii = false;
    if (ascii) {
      this.head(3, length);
      this.#room(length);
      const slab = this.#slab;
      let at = this.#at;
      for (let i = 0; i < length; i++) slab[at++] = s.charCodeAt(i);
      this.#at = at;
      return;
    }
    // At most 3 bytes a UTF-16 unit: write behind a head sized for that, then close the gap.
    const max = length * 3;
    const reserved = headSize(max);
    // Room for the widest head too, so writing the head below cannot move the slab.
    this.#room(9 + max);
    const from = this.#at + reserved;
    const { written } = UTF8.encodeInto(s, this.#slab.subarray(from, from + max));
    const size = headSize(written);
    if (size < reserved) this.#slab.copyWithin(this.#at + size, from, from + written);
    this.head(3, written);
    this.#at += written;
  }

  bytes(b: Uint8Array): void {
    this.head(2, b.byteLength);
    this.#room(b.byteLength);
    this.#slab.set(b, this.#at);
    this.#at += b.byteLength;
  }

  /** A value already known to be in the data model (a validated frame field). */
  value(v: unknown): void {
    if (typeof v === "number") this.number(v);
    else if (typeof v === "string") this.text(v);
    else if (v instanceof Uint8Array) this.bytes(v);
    else if (Array.isArray(v)) {
      this.head(4, v.length);
      for (const item of v) this.value(item);
    } else this.payload(v, 2, Number.POSITIVE_INFINITY);
  }

  /**
   * A payload: throws E_PAYLOAD (and the frame is abandoned by the caller) unless `v` is in the
   * data model (spec/wire.md §3) with containers nested at most `maxDepth` deep (a top-level
   * container counts as `depth`).
   */
  payload(v: unknown, depth: number, maxDepth: number): void {
    switch (typeof v) {
      case "number":
        return this.number(v);
      case "boolean":
        this.#room(1);
        this.#slab[this.#at++] = v ? 0xf5 : 0xf4;
        return;
      case "string":
        if (!isWellFormed(v)) throw refuse("a lone surrogate");
        return this.text(v);
      case "object": {
        if (v === null) {
          this.#room(1);
          this.#slab[this.#at++] = 0xf6;
          return;
        }
        if (v instanceof Uint8Array) return this.bytes(v);
        if (depth > maxDepth) throw refuse(`containers nested deeper than ${maxDepth}`);
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto === Array.prototype) {
          const items = v as readonly unknown[];
          const n = items.length;
          this.head(4, n);
          for (let i = 0; i < n; i++) this.payload(items[i], depth + 1, maxDepth);
          return;
        }
        if (proto !== Object.prototype && proto !== null) {
          throw refuse(`a ${describe(v)} (only plain objects, arrays and Uint8Array)`);
        }
        const record = v as Readonly<Record<string, unknown>>;
        const keys = Object.keys(record);
        this.head(5, keys.length);
        for (const key of keys) {
          // a decoder would rename this key, so it could not round-trip
          if (key === "__proto__") throw refuse('the key "__proto__"');
          if (!isWellFormed(key)) throw refuse("a lone surrogate");
          this.text(key);
          this.payload(record[key], depth + 1, maxDepth);
        }
        return;
      }
      default:
        // undefined (including array holes), bigint, symbol, function
        throw refuse(`a value of type ${typeof v}`);
    }
  }
}

function headSize(arg: number): number {
  return arg < 24 ? 1 : arg < 0x100 ? 2 : arg < 0x10000 ? 3 : arg < TWO_32 ? 5 : 9;
}
