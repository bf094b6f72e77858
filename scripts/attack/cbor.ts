/**
 * Hand-made CBOR for the attacker (spec/wire.md §2): heads and the big hostile frames, written
 * byte by byte so they cost the attacker a buffer fill, not a million-object encode.
 */

/** A CBOR head: major type `major` (0-7) with argument `n`, in its shortest form. */
export function head(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x1_0000_0000) {
    const out = new Uint8Array(5);
    out[0] = m | 26;
    new DataView(out.buffer).setUint32(1, n);
    return out;
  }
  const out = new Uint8Array(9);
  out[0] = m | 27;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}

/** An unsigned integer. */
export const uint = (n: number): Uint8Array => head(0, n);

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * One frame of about `bytes` bytes that is a CBOR map of distinct text keys, all of one length
 * (8 characters), each mapped to null: the shape whose pairwise key check froze a victim
 * (issue 17, finding 1). It is no frame (not an array), so it fails the schema after the checks.
 */
export function equalKeysMap(bytes: number): Uint8Array {
  const entry = 1 + 8 + 1; // text head, 8 characters, null
  const count = Math.floor((bytes - 5) / entry);
  const out = new Uint8Array(5 + count * entry);
  out[0] = 0xba; // a map with a 4-byte count
  new DataView(out.buffer).setUint32(1, count);
  let at = 5;
  for (let i = 0; i < count; i++) {
    out[at++] = 0x68; // text of 8 bytes
    const key = i.toString(36).padStart(8, "0");
    for (let c = 0; c < 8; c++) out[at++] = key.charCodeAt(c);
    out[at++] = 0xf6; // null
  }
  return out;
}

/** `count` empty maps (0xa0 each), behind an array head: ~64 bytes of heap per wire byte. */
export function emptyMaps(count: number): Uint8Array {
  const prefix = head(4, count);
  const out = new Uint8Array(prefix.byteLength + count);
  out.set(prefix);
  out.fill(0xa0, prefix.byteLength);
  return out;
}

/**
 * A first frame of about `bytes` bytes: a `hello` whose `versions` list holds empty maps. It
 * passes the profile scan and fails the schema only after the whole item is decoded.
 */
export function emptyMapsHello(bytes: number): Uint8Array {
  const tail = concat([
    head(3, 1),
    Uint8Array.of(0x78), // peer id "x"
    head(2, 0), // key: empty
    head(2, 16),
    new Uint8Array(16), // nonce
    head(2, 0), // session: empty
  ]);
  const start = concat([head(4, 8), uint(0), uint(0), uint(0)]);
  const count = bytes - start.byteLength - tail.byteLength - 5;
  return concat([start, emptyMaps(count), tail]);
}
