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

/** Raw bytes of one of the given lengths (spec/wire.md §5.1: keys, nonces, session ids, signatures). */
const bytesOf = (...sizes: number[]) =>
  z
    .custom<Uint8Array>((b) => b instanceof Uint8Array, "bytes")
    .refine((b) => sizes.includes(b.byteLength), `bytes of length ${sizes.join(" or ")}`);

/** Opens every link; unsequenced, because it belongs to the link, not to the session (spec/transports.md §3). */
export const HelloFrameSchema = z.strictObject({
  type: z.literal("hello"),
  seq: z.literal(0),
  /** The highest seq received in the session named by `session` (0 for a new session). */
  ack: Uint,
  versions: z.array(Uint).min(1),
  peer: PeerId,
  /** The sender's Ed25519 public key, or empty for an unauthenticated peer. */
  key: bytesOf(0, 32),
  /** Fresh random bytes for this link; the remote signs them in its auth. */
  nonce: bytesOf(16),
  /** The session the sender wants to resume, or empty for a new session. */
  session: bytesOf(0, 32),
});
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

/** Proves the hello's key: a signature over both hellos (spec/transports.md §3.2). */
export const AuthFrameSchema = z.strictObject({
  type: z.literal("auth"),
  seq: z.literal(0),
  ack: Uint,
  sig: bytesOf(64),
});
export type AuthFrame = z.infer<typeof AuthFrameSchema>;

export const StageFrameSchema = z.strictObject({
  type: z.literal("stage"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  nodes: Nodes,
  payload: z.unknown(),
  handles: z.array(HandleRefSchema),
  /** Every peer the event is staged at for delivery: owners count a reference for each. */
  receivers: z.array(PeerId),
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
  /** Carried handles whose nodes were destroyed before this event: they arrive dead. */
  dead: z.array(HandleRefSchema),
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

export const NoticeFrameSchema = z.strictObject({
  type: z.literal("notice"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  /** The receiving owner's nodes whose handles the event carries. */
  nodes: Nodes,
  /** The peers that will receive those handles. */
  receivers: z.array(PeerId).min(1),
});
export type NoticeFrame = z.infer<typeof NoticeFrameSchema>;

export const DeadFrameSchema = z.strictObject({
  type: z.literal("dead"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  /** A proposal above the destruction of every listed node. */
  lamport: Uint,
  nodes: Nodes,
});
export type DeadFrame = z.infer<typeof DeadFrameSchema>;

export const DestroyFrameSchema = z.strictObject({
  type: z.literal("destroy"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  /** The sender's nodes being destroyed that the receiver holds (may be none at pick start). */
  nodes: z.array(Uint).refine((nodes) => new Set(nodes).size === nodes.length, "duplicate node"),
});
export type DestroyFrame = z.infer<typeof DestroyFrameSchema>;

export const ReleaseFrameSchema = z.strictObject({
  type: z.literal("release"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  node: Uint,
  /** References dropped: at least one. */
  count: z.int().min(1),
  /** Whose references: the sender's own, or a receiver's its transfer never reached. */
  holder: PeerId,
});
export type ReleaseFrame = z.infer<typeof ReleaseFrameSchema>;

export const EndpointsFrameSchema = z.strictObject({
  type: z.literal("endpoints"),
  seq: Seq,
  ack: Uint,
  /** The peer that listens there: the sender itself, or the owner of a handle about to be sent. */
  peer: PeerId,
  /** Where `peer` can be dialled (spec/transports.md §1), e.g. "ws://127.0.0.1:7000". */
  urls: z.array(z.string().min(1).max(2048).refine(isWellFormed, "lone surrogate")).max(16),
});
export type EndpointsFrame = z.infer<typeof EndpointsFrameSchema>;

export const ClaimFrameSchema = z.strictObject({
  type: z.literal("claim"),
  seq: Seq,
  ack: Uint,
  /** Numbered like the sender's events, so the answer can name it. */
  event: Uint,
  /** The secret of a capability URL (spec/bootstrap.md). */
  secret: z
    .custom<Uint8Array>((b) => b instanceof Uint8Array, "bytes")
    .refine((b) => b.byteLength >= 16 && b.byteLength <= 64, "secret of 16 to 64 bytes"),
});
export type ClaimFrame = z.infer<typeof ClaimFrameSchema>;

export const GrantedFrameSchema = z.strictObject({
  type: z.literal("granted"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  /** The exported node: the claimer now holds one reference to it. */
  node: Uint,
});
export type GrantedFrame = z.infer<typeof GrantedFrameSchema>;

export const FrameSchema = z.discriminatedUnion("type", [
  HelloFrameSchema,
  AuthFrameSchema,
  StageFrameSchema,
  ProposeFrameSchema,
  CommitFrameSchema,
  AbortFrameSchema,
  UnicastFrameSchema,
  AcceptFrameSchema,
  RejectFrameSchema,
  AckFrameSchema,
  CloseFrameSchema,
  NoticeFrameSchema,
  DeadFrameSchema,
  DestroyFrameSchema,
  ReleaseFrameSchema,
  EndpointsFrameSchema,
  ClaimFrameSchema,
  GrantedFrameSchema,
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

/** Every frame type's layout (spec/wire.md §Frame types); codes need not be contiguous. */
export const FRAME_LAYOUTS: readonly FrameLayout[] = [
  {
    type: "hello",
    code: 0,
    fields: ["versions", "peer", "key", "nonce", "session"],
    schema: loose(HelloFrameSchema),
  },
  { type: "auth", code: 16, fields: ["sig"], schema: loose(AuthFrameSchema) },
  { type: "endpoints", code: 17, fields: ["peer", "urls"], schema: loose(EndpointsFrameSchema) },
  { type: "claim", code: 18, fields: ["event", "secret"], schema: loose(ClaimFrameSchema) },
  { type: "granted", code: 19, fields: ["event", "node"], schema: loose(GrantedFrameSchema) },
  {
    type: "stage",
    code: 1,
    fields: ["event", "clock", "nodes", "payload", "handles", "receivers"],
    schema: loose(StageFrameSchema),
  },
  { type: "propose", code: 2, fields: ["event", "lamport"], schema: loose(ProposeFrameSchema) },
  { type: "commit", code: 3, fields: ["event", "lamport", "dead"], schema: loose(CommitFrameSchema) },
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
  {
    type: "notice",
    code: 10,
    fields: ["event", "clock", "nodes", "receivers"],
    schema: loose(NoticeFrameSchema),
  },
  { type: "dead", code: 11, fields: ["event", "lamport", "nodes"], schema: loose(DeadFrameSchema) },
  { type: "destroy", code: 12, fields: ["event", "clock", "nodes"], schema: loose(DestroyFrameSchema) },
  {
    type: "release",
    code: 13,
    fields: ["event", "clock", "node", "count", "holder"],
    schema: loose(ReleaseFrameSchema),
  },
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
  notice: 10,
  dead: 11,
  destroy: 12,
  release: 13,
  auth: 16,
  endpoints: 17,
  claim: 18,
  granted: 19,
};
