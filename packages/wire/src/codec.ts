/**
 * One frame codec per link (spec/wire.md). It owns one configured cbor-x Encoder, so no option
 * or buffer is shared through module state, and applies the link's WireLimits both ways.
 */
import { Encoder, type Options } from "cbor-x";
import { WireError, WireErrorCode } from "./errors.js";
import { FAST_VALIDATORS, type FrameFields } from "./fast.js";
import { FRAME_LAYOUTS, type Frame, type FrameLayout, WIRE_VERSION } from "./frames.js";
import { type ResolvedLimits, resolveLimits, type WireLimits } from "./limits.js";
import { checkPayload, wideInt, widenPayload } from "./payload.js";
import { checkProfile } from "./profile.js";

/**
 * cbor-x settings that make its output plain, preferred-serialization CBOR any decoder reads, and
 * its input exactly the profile (spec/wire.md §CBOR). Options cbor-x has but does not declare in
 * its types are spelled out in the intersection.
 */
const CBOR_OPTIONS: Options & { useTag259ForMaps: boolean; int64AsNumber: boolean } = {
  // Records are a cbor-x extension (tags 0xe000+): no other decoder reads them.
  useRecords: false,
  // Map heads of the shortest length (a1) instead of the default fixed 16-bit count (b9 00 01).
  variableMapSize: true,
  // Maps decode to plain objects; the profile check has already required distinct text keys.
  mapsAsObjects: true,
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
  // 8-byte integers decode as numbers; the profile check has already refused any above 2^53-1.
  int64AsNumber: true,
  // Decoded byte strings own their memory instead of aliasing the transport's receive buffer.
  copyBuffers: true,
};

/**
 * Result of the non-throwing decode. `decodedBytes` bounds the memory the decoded frame takes
 * (spec/wire.md §8): what a receiver charges for keeping it, rather than its wire size.
 */
export type DecodeResult =
  | { readonly ok: true; readonly frame: Frame; readonly decodedBytes: number }
  | { readonly ok: false; readonly error: WireError };

const LAYOUT_BY_TYPE: ReadonlyMap<string, FrameLayout> = new Map(FRAME_LAYOUTS.map((l) => [l.type, l]));
/** Fields that hold handle refs, written as `[owner, node]` pairs. */
const HANDLE_LISTS: ReadonlySet<string> = new Set(["handles", "dead"]);
/** Layouts by wire code; codes need not be contiguous. */
const LAYOUT_BY_CODE: ReadonlyArray<FrameLayout | undefined> = FRAME_LAYOUTS.reduce<
  Array<FrameLayout | undefined>
>((byCode, layout) => {
  byCode[layout.code] = layout;
  return byCode;
}, []);

/**
 * Encodes and decodes frames (spec/wire.md): CBOR arrays in the layout of FRAME_LAYOUTS, validated, within
 * its limits. One per link: it keeps its own cbor-x encoder.
 */
export class FrameCodec {
  /** The limits this codec enforces. */
  readonly limits: ResolvedLimits;
  readonly #cbor = new Encoder(CBOR_OPTIONS);

  constructor(limits?: WireLimits) {
    this.limits = resolveLimits(limits);
  }

  /**
   * Encodes one frame. Throws WireError: E_SCHEMA, E_PAYLOAD, E_VERSION or E_TOO_LARGE. The result
   * is a view into a slab shared with other frames of this codec (never overwritten): use its
   * `byteOffset`/`byteLength`, not its whole `buffer`, and do not write into it.
   */
  encode(frame: Frame): Uint8Array {
    return this.#encode(frame, false);
  }

  /**
   * Like `encode`, for a frame this peer built itself (a session's own frames): the hot frame
   * types are checked by their fast validators instead of zod, and extra keys are not looked
   * for. The payload is still checked. Other frame types get the full check.
   */
  encodeOwn(frame: Frame): Uint8Array {
    return this.#encode(frame, true);
  }

  #encode(frame: Frame, own: boolean): Uint8Array {
    const layout = typeof frame === "object" && frame !== null ? LAYOUT_BY_TYPE.get(frame.type) : undefined;
    if (layout === undefined) throw new WireError(WireErrorCode.E_SCHEMA, "not a frame object");
    const fields = frame as unknown as FrameFields;
    const fast = own ? FAST_VALIDATORS[layout.type] : undefined;
    if (fast === undefined || !fast(fields)) {
      const parsed = layout.schema.safeParse(frame);
      if (!parsed.success) throw schemaError(parsed.error);
      // All fields are present (the schema passed), so any further key is an extra one.
      const keys = Object.keys(fields).length - optionalKeys(layout, fields);
      if (keys !== 3 + layout.fields.length) {
        throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type} frame has keys beyond its fields`);
      }
      checkVersion(frame);
    }
    const tuple: unknown[] = [layout.code, wideInt(frame.seq), wideInt(frame.ack)];
    let out: Uint8Array;
    try {
      for (const name of layout.fields) tuple.push(this.#wireField(name, fields[name]));
      if (layout.optional) this.#optionalFields(layout, layout.optional, fields, tuple);
      out = this.#cbor.encode(tuple);
    } catch (cause) {
      if (cause instanceof WireError) throw cause;
      // e.g. a stack overflow under a huge maxDepth
      throw new WireError(WireErrorCode.E_PAYLOAD, "payload could not be encoded", { cause });
    }
    if (out.byteLength > this.limits.maxFrameBytes) {
      throw new WireError(
        WireErrorCode.E_TOO_LARGE,
        `frame of ${out.byteLength} bytes exceeds maxFrameBytes`,
      );
    }
    // cbor-x writes frames one after another into a slab it never rewrites (a Buffer on Node).
    // A plain view of it is as safe as a copy and saves an ArrayBuffer per frame (half the cost).
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Decodes one whole frame. Throws WireError with any code but E_PAYLOAD. */
  decode(bytes: Uint8Array): Frame {
    return this.#decode(bytes).frame;
  }

  #decode(bytes: Uint8Array): { readonly frame: Frame; readonly decodedBytes: number } {
    if (bytes.byteLength > this.limits.maxFrameBytes) {
      throw new WireError(
        WireErrorCode.E_TOO_LARGE,
        `frame of ${bytes.byteLength} bytes exceeds maxFrameBytes`,
      );
    }
    // cbor-x copies byte strings with the input's own `slice`, so a Buffer (or other subclass)
    // input would yield Buffers: give it a plain view. (cbor-x also caches a DataView on its
    // input as a `dataView` property.)
    const view =
      bytes.constructor === Uint8Array
        ? bytes
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let scan: { readonly floatMask: number; readonly decodedBytes: number };
    let value: unknown;
    try {
      scan = checkProfile(view, this.limits.maxDepth);
      value = this.#cbor.decode(view);
    } catch (cause) {
      if (cause instanceof WireError) throw cause;
      // A maxDepth set beyond what the stack holds overflows it; other cbor-x errors are not
      // expected after the profile check. Either way decode throws only WireError.
      const code = cause instanceof RangeError ? WireErrorCode.E_TOO_LARGE : WireErrorCode.E_CBOR;
      throw new WireError(code, "frame could not be decoded", { cause });
    }
    return { frame: toFrame(value, scan.floatMask), decodedBytes: scan.decodedBytes };
  }

  /** Like `decode`, but returns the error instead of throwing it. */
  decodeFrame(bytes: Uint8Array): DecodeResult {
    try {
      return { ok: true, ...this.#decode(bytes) };
    } catch (error) {
      if (error instanceof WireError) return { ok: false, error };
      throw error;
    }
  }

  /** Optional fields in order, up to the first absent one; a later one present is E_SCHEMA. */
  #optionalFields(
    layout: FrameLayout,
    names: readonly string[],
    fields: FrameFields,
    tuple: unknown[],
  ): void {
    let ended = false;
    for (const name of names) {
      const value = fields[name];
      if (value === undefined) ended = true;
      else if (ended)
        throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type}: ${name} after an absent field`);
      else tuple.push(this.#wireField(name, value));
    }
  }

  #wireField(name: string, value: unknown): unknown {
    if (name === "payload") {
      return checkPayload(value, 2, this.limits.maxDepth) ? widenPayload(value) : value;
    }
    if (name === "payloads") {
      // A batch's payloads sit one level deeper than a single frame's (spec/wire.md §5.19).
      return (value as readonly unknown[]).map((p) =>
        checkPayload(p, 3, this.limits.maxDepth) ? widenPayload(p) : p,
      );
    }
    if (HANDLE_LISTS.has(name)) {
      return (value as readonly { owner: string; node: number }[]).map((h) => [h.owner, wideInt(h.node)]);
    }
    return wideDeep(value);
  }
}

/** Integers of a protocol field, at any depth (batch frames nest lists), widened for cbor-x. */
function wideDeep(value: unknown): unknown {
  if (typeof value === "number") return wideInt(value);
  if (Array.isArray(value)) return value.map(wideDeep);
  return value;
}

/** One-off decode with a fresh codec; links keep one FrameCodec and call its `decodeFrame`. */
export function decodeFrame(bytes: Uint8Array, limits?: WireLimits): DecodeResult {
  return new FrameCodec(limits).decodeFrame(bytes);
}

/** Maps a decoded CBOR value onto a frame object and validates it. */
function toFrame(value: unknown, floatMask: number): Frame {
  if (!Array.isArray(value) || value.length === 0) {
    throw new WireError(WireErrorCode.E_SCHEMA, "a frame is a non-empty array");
  }
  const code: unknown = value[0];
  if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || (floatMask & 1) !== 0) {
    throw new WireError(WireErrorCode.E_SCHEMA, "frame type is not an unsigned integer");
  }
  const layout = LAYOUT_BY_CODE[code];
  if (layout === undefined) throw new WireError(WireErrorCode.E_UNKNOWN_FRAME, `unknown frame type ${code}`);
  const extra = value.length - 3 - layout.fields.length;
  if (extra < 0 || extra > (layout.optional?.length ?? 0)) {
    throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type} frame has ${value.length} elements`);
  }
  const payloadAt = payloadField(layout);
  if ((floatMask & ~(payloadAt < 0 ? 0 : 1 << (payloadAt + 3))) !== 0) {
    throw new WireError(WireErrorCode.E_SCHEMA, `${layout.type} frame has a float outside its payload`);
  }
  const object: Record<string, unknown> = { type: layout.type, seq: value[1], ack: value[2] };
  for (let i = 0; i < layout.fields.length; i++) {
    const name = layout.fields[i]!;
    const item: unknown = value[i + 3];
    object[name] = HANDLE_LISTS.has(name) && Array.isArray(item) ? item.map(handleRef) : item;
  }
  for (let i = 0; i < extra; i++) object[layout.optional![i]!] = value[3 + layout.fields.length + i];
  // The hot frames' fast validators accept exactly what their schemas accept (and zod's result
  // equals the object); when one refuses, zod names the error.
  if (FAST_VALIDATORS[layout.type]?.(object)) return object as unknown as Frame;
  const parsed = layout.schema.safeParse(object);
  if (!parsed.success) throw schemaError(parsed.error);
  checkVersion(parsed.data);
  return parsed.data;
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

/** `[owner, node]` → `{owner, node}`; anything else is left for the schema to refuse. */
function handleRef(item: unknown): unknown {
  return Array.isArray(item) && item.length === 2 ? { owner: item[0], node: item[1] } : item;
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
