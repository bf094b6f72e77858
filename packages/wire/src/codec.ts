/**
 * One frame codec per link (spec/wire.md), applying the link's WireLimits both ways. Frames are
 * encoded by cbor-x (our own frames are trusted data: the codec checks their fields and the
 * payload's data model, then hands cbor-x the `[code, seq, ack, ...fields]` tuple). They are
 * decoded by profile.ts, which checks the strict CBOR profile against hostile input and builds
 * the value in the same pass (cbor-x's decoder is lenient, see there).
 */
import { Encoder, type Options, REUSE_BUFFER_MODE, type ReusedSlab } from "cbor-x";
import { FRAME_BUILDERS, type FrameBuilder, handleList } from "./build.js";
import { WireError, WireErrorCode } from "./errors.js";
import { FAST_VALIDATORS, type FastValidator, type FrameFields } from "./fast.js";
import { FRAME_CODES, FRAME_LAYOUTS, type Frame, type FrameLayout, WIRE_VERSION } from "./frames.js";
import { type ResolvedLimits, resolveLimits, type WireLimits } from "./limits.js";
import { checkPayload, wideInt, widenPayload } from "./payload.js";
import { DECODED_COST, MAX_EXPANSION, ProfileReader, readProfile } from "./profile.js";

/**
 * cbor-x settings that make its output plain, preferred-serialization CBOR any decoder reads
 * (spec/wire.md §2). The encoder only encodes: decode options do not matter. Options cbor-x
 * has but does not declare in its types are spelled out in the intersection.
 */
const CBOR_OPTIONS: Options & { useTag259ForMaps: boolean } = {
  // Records are a cbor-x extension (tags 0xe000+): no other decoder reads them.
  useRecords: false,
  // Map heads of the shortest length (a1) instead of the default fixed 16-bit count (b9 00 01).
  variableMapSize: true,
  // Never tag maps (tag 259); payloads cannot hold Maps anyway.
  useTag259ForMaps: false,
  // Uint8Array as a bare byte string, not tag 64.
  tagUint8Array: false,
  // No value-sharing tags, string bundles or packed tags: all cbor-x private framing.
  structuredClone: false,
  bundleStrings: false,
  pack: false,
  useSelfDescribedHeader: false,
  // Non-integers as float64 always: exact, and one canonical width (spec §CBOR, floats).
  useFloat32: 0,
};

/** A frame without its `seq` and `ack`, which a session fills in as it sends it. */
export type FrameBody = Frame extends infer F ? (F extends unknown ? Omit<F, "seq" | "ack"> : never) : never;

/**
 * Result of the non-throwing decode. `decodedBytes` bounds the memory the decoded frame takes
 * (spec/wire.md §8): what a receiver charges for keeping it, rather than its wire size.
 */
export type DecodeResult =
  | { readonly ok: true; readonly frame: Frame; readonly decodedBytes: number }
  | { readonly ok: false; readonly error: WireError };

/**
 * A payload encoded once, to be spliced into several frames (a multicast's stage frames, one per
 * participant) instead of being checked and encoded again for each: `encodePayload` makes it. The
 * bytes are cbor-x's own for the value, so a frame with it spliced in is byte for byte the frame
 * cbor-x writes with the value in place (a test holds the codec to that).
 */
export class EncodedPayload {
  /** The value, for a frame whose limits it was not checked under (encoded as usual then). */
  readonly value: unknown;
  readonly bytes: Uint8Array;
  /** Nesting levels still allowed below the payload's own container: maxDepth - depth. */
  readonly headroom: number;

  /** Use `encodePayload`. */
  constructor(value: unknown, bytes: Uint8Array, headroom: number) {
    this.value = value;
    this.bytes = bytes;
    this.headroom = headroom;
  }
}

/** The encoder of `encodePayload`: its slab holds only payloads, never rewritten (as a frame's). */
const payloadEncoder = new Encoder(CBOR_OPTIONS);

/**
 * Check and encode a payload once for frames that put it at `depth` (2: `stage`, 3: `stages`;
 * spec/wire.md §8), under `limits`. Throws WireError E_PAYLOAD or E_TOO_LARGE, as encoding a
 * frame with it would.
 */
export function encodePayload(value: unknown, depth: number, limits?: WireLimits): EncodedPayload {
  const { maxDepth } = resolveLimits(limits);
  let slab: ReusedSlab;
  try {
    const wide = checkPayload(value, depth, maxDepth) ? widenPayload(value) : value;
    slab = payloadEncoder.encode(wide, REUSE_BUFFER_MODE);
  } catch (cause) {
    if (cause instanceof WireError) throw cause;
    throw new WireError(WireErrorCode.E_PAYLOAD, "payload could not be encoded", { cause });
  }
  const bytes = new Uint8Array(slab.buffer, slab.byteOffset + slab.start, slab.end - slab.start);
  return new EncodedPayload(value, bytes, maxDepth - depth);
}

/** Is `value` an array holding an EncodedPayload, at any depth of arrays? */
function holdsEncoded(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && value.some((v) => v instanceof EncodedPayload || holdsEncoded(v));
}

/** A CBOR array head for `length` items, as cbor-x writes it (preferred serialization). */
function arrayHead(length: number): Uint8Array {
  if (length < 0x18) return Uint8Array.of(0x80 | length);
  if (length < 0x100) return Uint8Array.of(0x98, length);
  if (length < 0x10000) return Uint8Array.of(0x99, length >> 8, length & 0xff);
  return Uint8Array.of(0x9a, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

/** How the encoder writes a field (#wireField), by its name: worked out once per layout. */
const FIELD_PLAIN = 0;
const FIELD_PAYLOAD = 1;
/** A batch's payload list. */
const FIELD_PAYLOADS = 2;
/** Handle refs, written as `[owner, node]` pairs (`handles`, `dead`). */
const FIELD_HANDLES = 3;

/** Wire codes of the frames #hotTuple writes. */
const CODE_UNICAST = FRAME_CODES.unicast;
const CODE_ACCEPT = FRAME_CODES.accept;
const CODE_PROPOSE = FRAME_CODES.propose;
const CODE_ACK = FRAME_CODES.ack;
const CODE_COMMIT = FRAME_CODES.commit;
const CODE_STAGE = FRAME_CODES.stage;

/** A checked uint field, as cbor-x is to write it. */
function wide(value: unknown): number | bigint {
  return wideInt(value as number);
}

function fieldKind(name: string): number {
  if (name === "payload") return FIELD_PAYLOAD;
  if (name === "payloads") return FIELD_PAYLOADS;
  return name === "handles" || name === "dead" ? FIELD_HANDLES : FIELD_PLAIN;
}

/** What the codec's hot paths need of a layout, worked out once rather than per frame. */
interface Plan {
  readonly layout: FrameLayout;
  readonly fast: FastValidator | undefined;
  readonly build: FrameBuilder | undefined;
  /** Elements (and keys) of a frame without optional fields: type, seq, ack and the fields. */
  readonly size: number;
  /** How each of `fields`, then each of `optional`, is written (FIELD_*). */
  readonly kinds: readonly number[];
  /** The floatMask bits a decoded frame may have: its payload's (or payload list's), if any. */
  readonly floats: number;
}

function plan(layout: FrameLayout): Plan {
  const at = payloadField(layout);
  return {
    layout,
    fast: FAST_VALIDATORS[layout.type],
    build: FRAME_BUILDERS[layout.type],
    size: 3 + layout.fields.length,
    kinds: [...layout.fields, ...(layout.optional ?? [])].map(fieldKind),
    floats: at < 0 ? 0 : 1 << (at + 3),
  };
}

const PLANS: readonly Plan[] = FRAME_LAYOUTS.map(plan);
const PLAN_BY_TYPE: ReadonlyMap<unknown, Plan> = new Map(PLANS.map((p) => [p.layout.type, p]));
/** A `stage` frame's CBOR array head (one byte: under 24 items). */
const STAGE_HEAD = 0x80 | (PLAN_BY_TYPE.get("stage")?.size ?? 0);
/** Plans by wire code; codes need not be contiguous. */
const PLAN_BY_CODE: ReadonlyArray<Plan | undefined> = PLANS.reduce<Array<Plan | undefined>>((byCode, p) => {
  byCode[p.layout.code] = p;
  return byCode;
}, []);

/**
 * The encoded `[handles, receivers]` of the last multicast stage frame written (#stageSpliced),
 * with copies of the lists it encodes, for all codecs: a multicast's frames go out on one link
 * per participant, each with its codec. Its bytes sit in cbor-x's slab, never rewritten.
 */
let stageTail: { handles: unknown[]; receivers: unknown[]; bytes: Uint8Array } | undefined;

/** Does `list` hold what `copy` holds (refs by owner and node)? Compared, not trusted by identity. */
function sameRefs(list: readonly { owner?: unknown; node?: unknown }[], copy: readonly unknown[]): boolean {
  if (list.length * 2 !== copy.length) return false;
  for (let i = 0; i < list.length; i++) {
    const ref = list[i] as { owner?: unknown; node?: unknown };
    if (ref.owner !== copy[2 * i] || ref.node !== copy[2 * i + 1]) return false;
  }
  return true;
}

function sameItems(list: readonly unknown[], copy: readonly unknown[]): boolean {
  if (list.length !== copy.length) return false;
  for (let i = 0; i < list.length; i++) if (list[i] !== copy[i]) return false;
  return true;
}

/**
 * Encodes and decodes frames (spec/wire.md): CBOR arrays in the layout of FRAME_LAYOUTS, validated, within
 * its limits. One per link: it keeps its own cbor-x encoder (cbor-x's output slab is its module's).
 */
export class FrameCodec {
  /** The limits this codec enforces. */
  readonly limits: ResolvedLimits;
  readonly #cbor = new Encoder(CBOR_OPTIONS);
  /** Reused frame after frame (a reader per frame cost an object and its fields each time). */
  readonly #reader: ProfileReader;
  /** The decoded size of the frame `#decode` returned last. */
  #decodedBytes = 0;
  /** The frame being written holds an EncodedPayload: its bytes are spliced in (#splice). */
  #spliced = false;

  constructor(limits?: WireLimits) {
    this.limits = resolveLimits(limits);
    this.#reader = new ProfileReader(this.limits.maxDepth, this.limits.maxDecodedBytes);
  }

  /**
   * Encodes one frame. Throws WireError: E_SCHEMA, E_PAYLOAD, E_VERSION or E_TOO_LARGE. The result
   * is a view into cbor-x's output slab, shared with other frames (never overwritten): use its
   * `byteOffset`/`byteLength`, not its whole `buffer`, and do not write into it.
   */
  encode(frame: Frame): Uint8Array {
    return this.#encode(frame, false);
  }

  /**
   * Like `encode`, for a frame this peer built itself (a session's own frames): extra keys are
   * not looked for. The payload is still checked. With `seq` and `ack` given, `frame` is the
   * body without them (it is not copied to add them).
   */
  encodeOwn(frame: Frame): Uint8Array;
  encodeOwn(body: FrameBody, seq: number, ack: number): Uint8Array;
  encodeOwn(frame: Frame | FrameBody, seq?: number, ack?: number): Uint8Array {
    if (seq === undefined || ack === undefined) return this.#encode(frame as Frame, true);
    const plan = typeof frame === "object" && frame !== null ? PLAN_BY_TYPE.get(frame.type) : undefined;
    if (plan?.fast?.(frame as unknown as FrameFields, seq, ack)) return this.#write(plan, frame, seq, ack);
    // Not a hot frame, or not a valid one: checked (and named) as a whole frame.
    return this.#encode({ ...frame, seq, ack } as Frame, true);
  }

  #encode(frame: Frame, own: boolean): Uint8Array {
    const plan = typeof frame === "object" && frame !== null ? PLAN_BY_TYPE.get(frame.type) : undefined;
    if (plan === undefined) throw new WireError(WireErrorCode.E_SCHEMA, "not a frame object");
    const layout = plan.layout;
    const fields = frame as unknown as FrameFields;
    // The hot frame types' fast validators accept exactly what their schemas accept (fast.ts): with
    // the key count right (no optional field present) the frame is valid without zod.
    const fast = plan.fast;
    if (fast === undefined || !fast(fields) || (!own && Object.keys(fields).length !== plan.size)) {
      const parsed = layout.schema.safeParse(frame);
      if (!parsed.success) throw schemaError(parsed.error);
      // All fields are present (the schema passed), so any further key is an extra one.
      const keys = Object.keys(fields).length - optionalKeys(layout, fields);
      if (keys !== 3 + layout.fields.length) {
        throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type} frame has keys beyond its fields`);
      }
      checkVersion(frame);
    }
    return this.#write(plan, frame, frame.seq, frame.ack);
  }

  /** Encodes a checked frame (or body) with its header numbers. */
  #write(plan: Plan, frame: Frame | FrameBody, seq: number, ack: number): Uint8Array {
    const fields = frame as unknown as FrameFields;
    let bytes: Uint8Array;
    this.#spliced = false;
    try {
      const code = plan.layout.code;
      if (code === CODE_STAGE && this.#splicesAt(fields.payload, 2)) {
        bytes = this.#stageSpliced(fields, seq, ack);
      } else {
        const tuple = this.#hotTuple(code, fields, seq, ack) ?? this.#tuple(plan, fields, seq, ack);
        bytes = this.#spliced ? this.#splice(tuple) : this.#slab(tuple);
      }
    } catch (cause) {
      if (cause instanceof WireError) throw cause;
      // e.g. a stack overflow under a huge maxDepth
      throw new WireError(WireErrorCode.E_PAYLOAD, "payload could not be encoded", { cause });
    }
    const length = bytes.byteLength;
    if (length > this.limits.maxFrameBytes) {
      throw new WireError(WireErrorCode.E_TOO_LARGE, `frame of ${length} bytes exceeds maxFrameBytes`);
    }
    // No encoded byte decodes to more than MAX_EXPANSION: only a frame that long can pass
    // maxDecodedBytes, and only it pays a read (throws E_TOO_LARGE, as the receiver would).
    if (DECODED_COST.frame + length * MAX_EXPANSION > this.limits.maxDecodedBytes) {
      readProfile(bytes, this.limits.maxDepth, this.limits.maxDecodedBytes);
    }
    return bytes;
  }

  /**
   * cbor-x writes frames one after another into a slab it never rewrites (a test holds it to
   * that), so a plain view of the frame's bytes is as safe as a copy. REUSE_BUFFER_MODE gives
   * the slab and the frame's bounds rather than a Buffer.subarray we would wrap again: one
   * object for the output instead of two (encode alone went from 0.6x to 0.85x bare cbor-x).
   */
  #slab(value: unknown): Uint8Array {
    const slab = this.#cbor.encode(value, REUSE_BUFFER_MODE);
    return new Uint8Array(slab.buffer, slab.byteOffset + slab.start, slab.end - slab.start);
  }

  /**
   * The tuple with its EncodedPayloads' bytes spliced in: a definite-length array is its head and
   * then its items' encodings, each written by cbor-x alone (they share no state: no records,
   * no shared structures or bundled strings, CBOR_OPTIONS), so the result is cbor-x's own.
   */
  #splice(tuple: readonly unknown[]): Uint8Array {
    const parts: Uint8Array[] = [];
    const item = (value: unknown): void => {
      if (value instanceof EncodedPayload) parts.push(value.bytes);
      else if (holdsEncoded(value)) {
        parts.push(arrayHead(value.length));
        for (const v of value) item(v);
      } else parts.push(this.#slab(value));
    };
    item(tuple);
    let length = 0;
    for (const part of parts) length += part.byteLength;
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.byteLength;
    }
    return bytes;
  }

  /** Would #payload splice `value` at `depth` (an EncodedPayload checked with room for it)? */
  #splicesAt(value: unknown, depth: number): boolean {
    return value instanceof EncodedPayload && value.headroom <= this.limits.maxDepth - depth;
  }

  /**
   * A multicast's `stage` frame for one of its participants: only `[code, seq, ack, event, clock,
   * nodes]` differ between them. That head is one cbor-x array (its item count patched to the
   * frame's 9), then the payload encoded once, then `[handles, receivers]` without its array head,
   * encoded for the first participant and reused (by any codec) while frames hold the same
   * lists' contents (compared item by item: the same strings compare at once). Bytes as #splice
   * writes them.
   */
  #stageSpliced(f: FrameFields, seq: number, ack: number): Uint8Array {
    const head = this.#slab([
      CODE_STAGE,
      wideInt(seq),
      wideInt(ack),
      wide(f.event),
      wide(f.clock),
      wideInts(f.nodes as readonly unknown[]),
    ]);
    const handles = f.handles as readonly { owner?: unknown; node?: unknown }[];
    const receivers = f.receivers as readonly unknown[];
    let tail = stageTail;
    if (tail === undefined || !sameItems(receivers, tail.receivers) || !sameRefs(handles, tail.handles)) {
      const pair = this.#slab([handlePairs(handles), wideInts(receivers)]);
      tail = {
        handles: handles.flatMap((ref) => [ref.owner, ref.node]),
        receivers: [...receivers],
        bytes: pair.subarray(1),
      };
      stageTail = tail;
    }
    const payload = (f.payload as EncodedPayload).bytes;
    const bytes = new Uint8Array(head.byteLength + payload.byteLength + tail.bytes.byteLength);
    bytes.set(head);
    bytes[0] = STAGE_HEAD;
    bytes.set(payload, head.byteLength);
    bytes.set(tail.bytes, head.byteLength + payload.byteLength);
    return bytes;
  }

  /** The `[code, seq, ack, ...fields, ...optional]` tuple cbor-x writes for a checked frame. */
  #tuple(plan: Plan, fields: FrameFields, seq: number, ack: number): unknown[] {
    const layout = plan.layout;
    const optional = layout.optional === undefined ? 0 : presentOptional(layout, layout.optional, fields);
    const names = layout.fields;
    const kinds = plan.kinds;
    const tuple: unknown[] = new Array(plan.size + optional);
    tuple[0] = layout.code;
    tuple[1] = wideInt(seq);
    tuple[2] = wideInt(ack);
    for (let i = 0; i < names.length; i++) tuple[3 + i] = this.#wireField(kinds[i]!, fields[names[i]!]);
    for (let i = 0; i < optional; i++) {
      tuple[3 + names.length + i] = this.#wireField(kinds[names.length + i]!, fields[layout.optional![i]!]);
    }
    return tuple;
  }

  /**
   * #tuple for the hot frames without optional fields (else undefined), field by named field:
   * the generic loop reads fields by a computed name, which V8 runs through its megamorphic load
   * path. The fields are checked (a fast validator or the schema passed), so the numbers are uints;
   * unicast and commit have one optional field, so absent it, no later one can be present.
   */
  #hotTuple(code: number, f: FrameFields, seq: number, ack: number): unknown[] | undefined {
    const s = wideInt(seq);
    const a = wideInt(ack);
    switch (code) {
      case CODE_UNICAST:
        if (f.accepted !== undefined) return undefined;
        return [code, s, a, wide(f.event), wide(f.clock), wide(f.node), this.#payload(f.payload, 2)];
      case CODE_ACCEPT:
      case CODE_PROPOSE:
        return [code, s, a, wide(f.event), wide(f.lamport)];
      case CODE_ACK:
        return [code, s, a];
      case CODE_COMMIT:
        // A multicast's commit carries its signature, the one optional field, last.
        if (f.sig !== undefined)
          return [code, s, a, wide(f.event), wide(f.lamport), handlePairs(f.dead), f.sig];
        return [code, s, a, wide(f.event), wide(f.lamport), handlePairs(f.dead)];
      case CODE_STAGE:
        return [
          code,
          s,
          a,
          wide(f.event),
          wide(f.clock),
          wideInts(f.nodes as readonly unknown[]),
          this.#payload(f.payload, 2),
          handlePairs(f.handles),
          wideInts(f.receivers as readonly unknown[]),
        ];
      default:
        return undefined;
    }
  }

  /** A payload at `depth`: checked (and widened) here, or encoded once already (EncodedPayload). */
  #payload(value: unknown, depth: number): unknown {
    if (value instanceof EncodedPayload) {
      // Checked with at least this frame's room below it: splice it; else encode its value here.
      if (this.#splicesAt(value, depth)) {
        this.#spliced = true;
        return value;
      }
      return this.#payload(value.value, depth);
    }
    // One check walk, which also says whether a copy is needed (rarely: a >32-bit integer).
    return checkPayload(value, depth, this.limits.maxDepth) ? widenPayload(value) : value;
  }

  /** A field as cbor-x is to write it: handle refs as pairs, wide integers as BigInt. */
  #wireField(kind: number, value: unknown): unknown {
    if (kind === FIELD_PAYLOAD) return this.#payload(value, 2);
    // A batch's payloads sit one level deeper than a single frame's (spec/wire.md §5.19).
    if (kind === FIELD_PAYLOADS) return (value as readonly unknown[]).map((p) => this.#payload(p, 3));
    if (typeof value === "number") return wideInt(value);
    if (kind === FIELD_HANDLES) return handlePairs(value);
    if (Array.isArray(value)) return wideInts(value);
    return value;
  }

  /** Decodes one whole frame. Throws WireError with any code but E_PAYLOAD. */
  decode(bytes: Uint8Array): Frame {
    return this.#decode(bytes);
  }

  /** Decodes one frame and leaves its decoded size in #decodedBytes. */
  #decode(bytes: Uint8Array): Frame {
    if (bytes.byteLength > this.limits.maxFrameBytes) {
      throw new WireError(
        WireErrorCode.E_TOO_LARGE,
        `frame of ${bytes.byteLength} bytes exceeds maxFrameBytes`,
      );
    }
    // Byte strings are copied with the input's own `slice`, so a Buffer (or other subclass)
    // input would yield Buffers: read a plain view.
    const view =
      bytes.constructor === Uint8Array
        ? bytes
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Reads do not nest (nothing in one calls out), but a reader in use is never shared.
    const reader = this.#reader.busy
      ? new ProfileReader(this.limits.maxDepth, this.limits.maxDecodedBytes)
      : this.#reader;
    reader.busy = true;
    try {
      let value: unknown;
      try {
        value = reader.readFrame(view);
      } catch (cause) {
        if (cause instanceof WireError) throw cause;
        // A maxDepth set beyond what the stack holds overflows it: decode throws only WireError.
        const code = cause instanceof RangeError ? WireErrorCode.E_TOO_LARGE : WireErrorCode.E_CBOR;
        throw new WireError(code, "frame could not be decoded", { cause });
      }
      const length = value === reader.top ? reader.topLength : Array.isArray(value) ? value.length : 0;
      const frame = toFrame(value, length, reader.floatMask);
      this.#decodedBytes = reader.decodedBytes;
      return frame;
    } finally {
      reader.release();
      reader.busy = false;
    }
  }

  /** Like `decode`, but returns the error instead of throwing it. */
  decodeFrame(bytes: Uint8Array): DecodeResult {
    try {
      const frame = this.#decode(bytes);
      return { ok: true, frame, decodedBytes: this.#decodedBytes };
    } catch (error) {
      if (error instanceof WireError) return { ok: false, error };
      throw error;
    }
  }
}

/** One-off decode with a fresh codec; links keep one FrameCodec and call its `decodeFrame`. */
export function decodeFrame(bytes: Uint8Array, limits?: WireLimits): DecodeResult {
  return new FrameCodec(limits).decodeFrame(bytes);
}

/**
 * Maps a decoded CBOR value onto a frame object and validates it; `value` holds `length`
 * elements when it is an array (it may be the reader's longer `top`).
 */
function toFrame(value: unknown, length: number, floatMask: number): Frame {
  if (!Array.isArray(value) || length === 0) {
    throw new WireError(WireErrorCode.E_SCHEMA, "a frame is a non-empty array");
  }
  const code: unknown = value[0];
  if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || (floatMask & 1) !== 0) {
    throw new WireError(WireErrorCode.E_SCHEMA, "frame type is not an unsigned integer");
  }
  const plan = PLAN_BY_CODE[code];
  if (plan === undefined) throw new WireError(WireErrorCode.E_UNKNOWN_FRAME, `unknown frame type ${code}`);
  const layout = plan.layout;
  const extra = length - plan.size;
  if (extra < 0 || extra > (layout.optional?.length ?? 0)) {
    throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type} frame has ${length} elements`);
  }
  if ((floatMask & ~plan.floats) !== 0) {
    throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type} frame has a float outside its payload`);
  }
  const object = plan.build === undefined ? fieldByField(layout, value, extra) : plan.build(value, extra);
  // The hot frames' fast validators accept exactly what their schemas accept (and zod's result
  // equals the object); when one refuses, zod names the error.
  if (plan.fast?.(object)) return object as unknown as Frame;
  const parsed = layout.schema.safeParse(object);
  if (!parsed.success) throw schemaError(parsed.error);
  checkVersion(parsed.data);
  return parsed.data;
}

/** The frame object of a type without a builder (build.ts): one key at a time. */
function fieldByField(
  layout: FrameLayout,
  value: readonly unknown[],
  extra: number,
): Record<string, unknown> {
  const object: Record<string, unknown> = { type: layout.type, seq: value[1], ack: value[2] };
  for (let i = 0; i < layout.fields.length; i++) {
    const name = layout.fields[i]!;
    const item: unknown = value[i + 3];
    object[name] = fieldKind(name) === FIELD_HANDLES ? handleList(item) : item;
  }
  for (let i = 0; i < extra; i++) object[layout.optional![i]!] = value[3 + layout.fields.length + i];
  return object;
}

/**
 * How many of the layout's optional fields the frame has: they go in order, up to the first
 * absent one; a later one present is E_SCHEMA.
 */
function presentOptional(layout: FrameLayout, names: readonly string[], fields: FrameFields): number {
  let present = 0;
  for (let i = 0; i < names.length; i++) {
    if (fields[names[i]!] === undefined) break;
    present++;
  }
  for (let i = present + 1; i < names.length; i++) {
    if (fields[names[i]!] !== undefined) {
      throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type}: ${names[i]} after an absent field`);
    }
  }
  return present;
}

/** Handle refs (a checked list) as the `[owner, node]` pairs the wire holds. */
function handlePairs(value: unknown): unknown[] {
  return (value as readonly { owner: string; node: number }[]).map((h) => [h.owner, wideInt(h.node)]);
}

/**
 * A list of a protocol field (nodes, versions; batch frames nest lists of lists) as is, or a copy
 * with every integer beyond 32 bits widened, at any depth.
 */
function wideInts(list: readonly unknown[]): readonly unknown[] {
  for (let i = 0; i < list.length; i++) {
    const n = list[i];
    if ((typeof n === "number" && wideInt(n) !== n) || (Array.isArray(n) && wideInts(n) !== n))
      return list.map((m) => (typeof m === "number" ? wideInt(m) : Array.isArray(m) ? wideInts(m) : m));
  }
  return list;
}

/** Where a layout's payload (or a batch's payload list) sits among its fields, or -1. */
function payloadField(layout: FrameLayout): number {
  const at = layout.fields.indexOf("payload");
  return at >= 0 ? at : layout.fields.indexOf("payloads");
}

/** How many of the layout's optional fields are keys of the frame object (present or undefined). */
function optionalKeys(layout: FrameLayout, fields: FrameFields): number {
  let n = 0;
  for (const name of layout.optional ?? []) if (Object.hasOwn(fields, name)) n++;
  return n;
}

function checkVersion(frame: Frame): void {
  if (frame.type === "hello" && !frame.versions.includes(WIRE_VERSION)) {
    throw new WireError(
      WireErrorCode.E_VERSION,
      `hello offers versions ${frame.versions.join(",")}, not ${WIRE_VERSION}`,
    );
  }
}

function schemaError(cause: {
  readonly issues: readonly { path: readonly PropertyKey[]; message: string }[];
}) {
  const issue = cause.issues[0];
  const where = issue === undefined ? "frame" : issue.path.map(String).join(".") || "frame";
  return new WireError(WireErrorCode.E_SCHEMA, `${where}: ${issue?.message ?? "invalid"}`, { cause });
}
