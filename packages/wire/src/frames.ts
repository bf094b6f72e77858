/**
 * Frame object shapes (spec/wire.md §Frames) as zod schemas, and the table that maps each frame
 * type to its wire code and the order of its fields in the CBOR array.
 */
import { z } from "zod";
import { isWellFormed } from "./text.js";

/** The protocol version this package speaks. */
export const WIRE_VERSION = 1;

/** Unsigned integer in the JS safe range (spec: `uint .le 9007199254740991`). */
const Uint = z.int().min(0);
/** Sequence number of a sequenced frame: starts at 1 (0 means "unsequenced"). */
const Seq = z.int().min(1);
/** Peer ids are printable ASCII without spaces, so they compare the same everywhere by byte. */
const PeerId = z.string().regex(/^[\x21-\x7e]{1,128}$/);
/** Stable error codes such as "E_NO_NODE", or "OK" for a clean close. */
const Code = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/);
/** A lone surrogate would be written as invalid UTF-8, which every receiver refuses. */
const Text = z.string().refine(isWellFormed, "lone surrogate");

/** Destination nodes of a stage: at least one, none twice. */
const Nodes = z
  .array(Uint)
  .min(1)
  .refine((nodes) => new Set(nodes).size === nodes.length, "duplicate node");

export const HandleRefSchema = z.strictObject({ owner: PeerId, node: Uint });
export type HandleRef = z.infer<typeof HandleRefSchema>;

export const HelloFrameSchema = z.strictObject({
  type: z.literal("hello"),
  seq: Seq,
  ack: Uint,
  versions: z.array(Uint).min(1),
  peer: PeerId,
});
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

export const StageFrameSchema = z.strictObject({
  type: z.literal("stage"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  nodes: Nodes,
  payload: z.unknown(),
  handles: z.array(HandleRefSchema),
});
export type StageFrame = z.infer<typeof StageFrameSchema>;

export const ProposeFrameSchema = z.strictObject({
  type: z.literal("propose"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  lamport: Uint,
});
export type ProposeFrame = z.infer<typeof ProposeFrameSchema>;

export const CommitFrameSchema = z.strictObject({
  type: z.literal("commit"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  lamport: Uint,
});
export type CommitFrame = z.infer<typeof CommitFrameSchema>;

export const AbortFrameSchema = z.strictObject({
  type: z.literal("abort"),
  seq: Seq,
  ack: Uint,
  event: Uint,
});
export type AbortFrame = z.infer<typeof AbortFrameSchema>;

export const UnicastFrameSchema = z.strictObject({
  type: z.literal("unicast"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  node: Uint,
  payload: z.unknown(),
});
export type UnicastFrame = z.infer<typeof UnicastFrameSchema>;

export const AcceptFrameSchema = z.strictObject({
  type: z.literal("accept"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  lamport: Uint,
});
export type AcceptFrame = z.infer<typeof AcceptFrameSchema>;

export const RejectFrameSchema = z.strictObject({
  type: z.literal("reject"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  code: Code,
});
export type RejectFrame = z.infer<typeof RejectFrameSchema>;

export const AckFrameSchema = z.strictObject({
  type: z.literal("ack"),
  seq: z.literal(0),
  ack: Uint,
});
export type AckFrame = z.infer<typeof AckFrameSchema>;

export const CloseFrameSchema = z.strictObject({
  type: z.literal("close"),
  seq: z.literal(0),
  ack: Uint,
  code: Code,
  reason: Text,
});
export type CloseFrame = z.infer<typeof CloseFrameSchema>;

export const FrameSchema = z.discriminatedUnion("type", [
  HelloFrameSchema,
  StageFrameSchema,
  ProposeFrameSchema,
  CommitFrameSchema,
  AbortFrameSchema,
  UnicastFrameSchema,
  AcceptFrameSchema,
  RejectFrameSchema,
  AckFrameSchema,
  CloseFrameSchema,
]);
export type Frame = z.infer<typeof FrameSchema>;
export type FrameType = Frame["type"];

/** One frame type's wire layout: its code and the names of the fields after `[type, seq, ack]`. */
export interface FrameLayout {
  readonly type: FrameType;
  readonly code: number;
  readonly fields: readonly string[];
  /**
   * The frame's schema without the unknown-key check, which costs a fifth of validation; the
   * codec gets the same strictness by counting keys (a frame has exactly 3 + fields.length).
   */
  readonly schema: z.ZodType<Frame>;
}

function loose<S extends z.ZodRawShape>(schema: z.ZodObject<S>) {
  return z.object(schema.shape);
}

/** Indexed by wire code; the position of a layout is its code (spec/wire.md §Frame types). */
export const FRAME_LAYOUTS: readonly FrameLayout[] = [
  { type: "hello", code: 0, fields: ["versions", "peer"], schema: loose(HelloFrameSchema) },
  {
    type: "stage",
    code: 1,
    fields: ["event", "clock", "nodes", "payload", "handles"],
    schema: loose(StageFrameSchema),
  },
  { type: "propose", code: 2, fields: ["event", "lamport"], schema: loose(ProposeFrameSchema) },
  { type: "commit", code: 3, fields: ["event", "lamport"], schema: loose(CommitFrameSchema) },
  { type: "abort", code: 4, fields: ["event"], schema: loose(AbortFrameSchema) },
  {
    type: "unicast",
    code: 5,
    fields: ["event", "clock", "node", "payload"],
    schema: loose(UnicastFrameSchema),
  },
  { type: "accept", code: 6, fields: ["event", "lamport"], schema: loose(AcceptFrameSchema) },
  { type: "reject", code: 7, fields: ["event", "code"], schema: loose(RejectFrameSchema) },
  { type: "ack", code: 8, fields: [], schema: loose(AckFrameSchema) },
  { type: "close", code: 9, fields: ["code", "reason"], schema: loose(CloseFrameSchema) },
];

/** Wire code of each frame type. */
export const FRAME_CODES: { readonly [T in FrameType]: number } = {
  hello: 0,
  stage: 1,
  propose: 2,
  commit: 3,
  abort: 4,
  unicast: 5,
  accept: 6,
  reject: 7,
  ack: 8,
  close: 9,
};
