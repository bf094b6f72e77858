/**
 * Frame object shapes (spec/wire.md §5) as zod schemas, and the table that maps each frame
 * type to its wire code and the order of its fields in the CBOR array.
 */
import { z } from "zod";
import { isWellFormed } from "./text.js";

/**
 * The protocol version this package speaks: 2, whose timestamps are hybrid logical clock values
 * (spec/ordering.md §2). A hello that does not offer it is refused with E_VERSION (spec/wire.md §6).
 */
export const WIRE_VERSION = 2;

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

/**
 * Accepted fast events, as runs `[event, count, lamport]`: events `event` to `event + count - 1`
 * of the frame's receiver were committed at `lamport` (an `accept` for a run of one, an `accepts`
 * without refusals for more). At least one run when present (B7).
 */
const AcceptedRuns = z.array(z.tuple([Uint, z.int().min(1), Uint])).min(1);

/** A handle named on the wire: its owner's peer id and the node's number there. */
export const HandleRefSchema = z.strictObject({ owner: PeerId, node: Uint });
/** A handle named on the wire. */
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
  /**
   * Optional: the sender's wall clock (Unix ms) as it sent the hello; a receiver refuses a peer
   * whose clock is too far off with E_CLOCK_SKEW (spec/wire.md §5.1, a diagnostic).
   */
  time: Uint.optional(),
  /**
   * Optional, after `time`: true when the sender's link reads transport messages that batch
   * several frames (spec/transports.md §1.1). Absent: one frame per message to it.
   */
  batches: z.boolean().optional(),
});
/** A `hello` frame, as decoded (spec/wire.md §5.1). */
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

/** Proves the hello's key: a signature over both hellos (spec/transports.md §3.2). */
export const AuthFrameSchema = z.strictObject({
  type: z.literal("auth"),
  seq: z.literal(0),
  ack: Uint,
  sig: bytesOf(64),
});
/** A `auth` frame, as decoded (spec/wire.md §5.2). */
export type AuthFrame = z.infer<typeof AuthFrameSchema>;

/**
 * The `stage` frame (spec/wire.md §5.3): the sender asks a destination to stage an event and propose a
 * timestamp.
 */
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
/** A `stage` frame, as decoded (spec/wire.md §5.3). */
export type StageFrame = z.infer<typeof StageFrameSchema>;

/** The `propose` frame (spec/wire.md §5.4): a destination's proposal for a staged event's timestamp. */
export const ProposeFrameSchema = z.strictObject({
  type: z.literal("propose"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  lamport: Uint,
});
/** A `propose` frame, as decoded (spec/wire.md §5.4). */
export type ProposeFrame = z.infer<typeof ProposeFrameSchema>;

/** The `commit` frame (spec/wire.md §5.5): the stager tells a destination the event's final timestamp. */
export const CommitFrameSchema = z.strictObject({
  type: z.literal("commit"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  lamport: Uint,
  /** Carried handles whose nodes were destroyed before this event: they arrive dead. */
  dead: z.array(HandleRefSchema),
  /**
   * Optional, trailing: the sender's Ed25519 signature of the event's final
   * (spec/ordering.md §16, "Signed finals"): MUST for a multicast round of a keyed sender, so a destination can
   * show the final to the event's other receivers after the sender is gone.
   */
  sig: bytesOf(64).optional(),
});
/** A `commit` frame, as decoded (spec/wire.md §5.5). */
export type CommitFrame = z.infer<typeof CommitFrameSchema>;

/**
 * The `abort` frame (spec/wire.md §5.6): the stager drops the round; the destination discards the staged
 * event.
 */
export const AbortFrameSchema = z.strictObject({
  type: z.literal("abort"),
  seq: Seq,
  ack: Uint,
  event: Uint,
});
/** A `abort` frame, as decoded (spec/wire.md §5.6). */
export type AbortFrame = z.infer<typeof AbortFrameSchema>;

/**
 * The `unicast` frame (spec/wire.md §5.7): the fast path to one node: the receiver assigns the final
 * timestamp itself.
 */
export const UnicastFrameSchema = z.strictObject({
  type: z.literal("unicast"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  node: Uint,
  payload: z.unknown(),
  /**
   * Optional, trailing: accepts of the receiver's own fast events this frame's sender committed,
   * riding on this frame instead of an `accept` of their own (spec/ordering.md §14, B7).
   */
  accepted: AcceptedRuns.optional(),
});
/** A `unicast` frame, as decoded (spec/wire.md §5.7). */
export type UnicastFrame = z.infer<typeof UnicastFrameSchema>;

/**
 * The `accept` frame (spec/wire.md §5.8): the final timestamp the receiver of a unicast or release assigned.
 */
export const AcceptFrameSchema = z.strictObject({
  type: z.literal("accept"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  lamport: Uint,
});
/** A `accept` frame, as decoded (spec/wire.md §5.8). */
export type AcceptFrame = z.infer<typeof AcceptFrameSchema>;

/** The `reject` frame (spec/wire.md §5.9): a destination refuses an event, with a code. */
export const RejectFrameSchema = z.strictObject({
  type: z.literal("reject"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  code: Code,
  /**
   * Optional, trailing: the receiver's node the refusal is about (the first listed node that does
   * not exist or that the sender holds no handle to), so the sender can say which one was bad.
   */
  node: Uint.optional(),
});
/** A `reject` frame, as decoded (spec/wire.md §5.9). */
export type RejectFrame = z.infer<typeof RejectFrameSchema>;

/** The `ack` frame (spec/wire.md §5.10): a pure cumulative acknowledgement. */
export const AckFrameSchema = z.strictObject({
  type: z.literal("ack"),
  seq: z.literal(0),
  ack: Uint,
});
/** A `ack` frame, as decoded (spec/wire.md §5.10). */
export type AckFrame = z.infer<typeof AckFrameSchema>;

/** The `close` frame (spec/wire.md §5.11): the link closes, with a code and a reason. */
export const CloseFrameSchema = z.strictObject({
  type: z.literal("close"),
  seq: z.literal(0),
  ack: Uint,
  code: Code,
  reason: Text,
});
/** A `close` frame, as decoded (spec/wire.md §5.11). */
export type CloseFrame = z.infer<typeof CloseFrameSchema>;

/**
 * The `notice` frame (spec/wire.md §5.12): a message carries handles to nodes the receiver owns; it takes
 * part in the round.
 */
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
/** A `notice` frame, as decoded (spec/wire.md §5.12). */
export type NoticeFrame = z.infer<typeof NoticeFrameSchema>;

/**
 * The `dead` frame (spec/wire.md §5.13): an answer to stage or notice in place of propose: listed nodes are
 * destroyed.
 */
export const DeadFrameSchema = z.strictObject({
  type: z.literal("dead"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  /** A proposal above the destruction of every listed node. */
  lamport: Uint,
  nodes: Nodes,
});
/** A `dead` frame, as decoded (spec/wire.md §5.13). */
export type DeadFrame = z.infer<typeof DeadFrameSchema>;

/**
 * The `destroy` frame (spec/wire.md §5.14): the owner destroys its nodes in one event, staged at each
 * holder.
 */
export const DestroyFrameSchema = z.strictObject({
  type: z.literal("destroy"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  /** Every node of the destroy, the same at each destination (spec/ordering.md §9, "What a destroy lists"). */
  nodes: z.array(Uint).refine((nodes) => new Set(nodes).size === nodes.length, "duplicate node"),
});
/** A `destroy` frame, as decoded (spec/wire.md §5.14). */
export type DestroyFrame = z.infer<typeof DestroyFrameSchema>;

/** The `release` frame (spec/wire.md §5.15): references of a holder to the receiver's node go. */
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
/** A `release` frame, as decoded (spec/wire.md §5.15). */
export type ReleaseFrame = z.infer<typeof ReleaseFrameSchema>;

/** The `endpoints` frame (spec/wire.md §5.16): where a peer accepts links. */
export const EndpointsFrameSchema = z.strictObject({
  type: z.literal("endpoints"),
  seq: Seq,
  ack: Uint,
  /** The peer that listens there: the sender itself, or the owner of a handle about to be sent. */
  peer: PeerId,
  /** Where `peer` can be dialled (spec/transports.md §1), e.g. "ws://127.0.0.1:7000". */
  urls: z.array(z.string().min(1).max(2048).refine(isWellFormed, "lone surrogate")).max(16),
});
/** A `endpoints` frame, as decoded (spec/wire.md §5.16). */
export type EndpointsFrame = z.infer<typeof EndpointsFrameSchema>;

/** The `claim` frame (spec/wire.md §5.17): the sender presents a capability URL's secret. */
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
/** A `claim` frame, as decoded (spec/wire.md §5.17). */
export type ClaimFrame = z.infer<typeof ClaimFrameSchema>;

/** The `granted` frame (spec/wire.md §5.18): the answer to a valid claim: the claimer now holds the node. */
export const GrantedFrameSchema = z.strictObject({
  type: z.literal("granted"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  /** The exported node: the claimer now holds one reference to it. */
  node: Uint,
});
/** A `granted` frame, as decoded (spec/wire.md §5.18). */
export type GrantedFrame = z.infer<typeof GrantedFrameSchema>;

/**
 * Batch frames (spec/wire.md §5.19, spec/wire.md §5.20, spec/wire.md §5.21, spec/wire.md §5.22, spec/wire.md §5.23, spec/ordering.md §14): several events of one sender
 * share one frame and one timestamp. Their payload lists sit one level deeper than a single
 * frame's payload, so a payload nested to the depth limit goes alone in today's frames.
 */
const Payloads = z.array(z.unknown()).min(1);
/** Events a frame names, in increasing order (a batch keeps send order). */
const Events = z
  .array(Uint)
  .min(1)
  .refine(
    (events) => events.every((e, i) => i === 0 || e > (events[i - 1] as number)),
    "events out of order",
  );
/** One event of a batch refused at its destination: `[event, code]` or `[event, code, node]`. */
const Refusal = z.union([z.tuple([Uint, Code]), z.tuple([Uint, Code, Uint])]);
/** A batch event whose listed nodes were destroyed before it: `[event, nodes]`. */
const Destroyed = z.tuple([Uint, Nodes]);

/**
 * The `unicasts` frame (spec/wire.md §5.19): a fast batch, several unicasts of one sender to one
 * peer's nodes; entry i is event `event + i` to node `to[i]` with `payloads[i]`. The receiver
 * commits them all at one final (spec/ordering.md §14, B2).
 */
export const UnicastsFrameSchema = z.strictObject({
  type: z.literal("unicasts"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  to: z.array(Uint).min(1),
  payloads: Payloads,
  /** Optional, trailing: accepts riding on this frame, as on `unicast` (B7). */
  accepted: AcceptedRuns.optional(),
});
/** A `unicasts` frame, as decoded (spec/wire.md §5.19). */
export type UnicastsFrame = z.infer<typeof UnicastsFrameSchema>;

/** The `accepts` frame (spec/wire.md §5.20): the one final of a fast batch, and its refused events. */
export const AcceptsFrameSchema = z.strictObject({
  type: z.literal("accepts"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  /** Events `event` to `event + count - 1` were in the batch. */
  count: z.int().min(1),
  lamport: Uint,
  /** Events of the batches refused (not committed), with codes. */
  refusals: z.array(Refusal),
  /** Optional, trailing: further batches answered by this frame, each its own run (B7). */
  more: AcceptedRuns.optional(),
});
/** An `accepts` frame, as decoded (spec/wire.md §5.20). */
export type AcceptsFrame = z.infer<typeof AcceptsFrameSchema>;

/**
 * The `stages` frame (spec/wire.md §5.21): a round batch staged at one participant, only its own
 * events: event `events[i]` goes to nodes `targets[i]` with `payloads[i]`. `event` names the batch
 * (its first event, which need not be listed here).
 */
export const StagesFrameSchema = z.strictObject({
  type: z.literal("stages"),
  seq: Seq,
  ack: Uint,
  event: Uint,
  clock: Uint,
  events: Events,
  targets: z.array(Nodes).min(1),
  payloads: Payloads,
  /**
   * Optional, trailing, with `receivers`: the distinct receiver lists of the batch's events
   * (spec/ordering.md §16 T1), each the peers an event is staged at for delivery.
   */
  groups: z.array(z.array(PeerId)).min(1).optional(),
  /** Optional, with `groups`: event `events[i]`'s receivers are `groups[receivers[i]]`. */
  receivers: z.array(Uint).min(1).optional(),
});
/** A `stages` frame, as decoded (spec/wire.md §5.21). */
export type StagesFrame = z.infer<typeof StagesFrameSchema>;

/**
 * The `proposals` frame (spec/wire.md §5.22): one proposal for every event of a batch staged at
 * the participant, with the events it refused and those whose nodes were already destroyed.
 */
export const ProposalsFrameSchema = z.strictObject({
  type: z.literal("proposals"),
  seq: Seq,
  ack: Uint,
  /** The batch, as its stages frame named it. */
  event: Uint,
  lamport: Uint,
  refusals: z.array(Refusal),
  destroyed: z.array(Destroyed),
  /** Optional, trailing: further batches proposed in this frame, `[batch, lamport]` each (B7). */
  more: z
    .array(z.tuple([Uint, Uint]))
    .min(1)
    .optional(),
});
/** A `proposals` frame, as decoded (spec/wire.md §5.22). */
export type ProposalsFrame = z.infer<typeof ProposalsFrameSchema>;

/** The `commits` frame (spec/wire.md §5.23): the batch's one final, for the listed events. */
export const CommitsFrameSchema = z.strictObject({
  type: z.literal("commits"),
  seq: Seq,
  ack: Uint,
  /** The batch, as its stages frame named it. */
  event: Uint,
  lamport: Uint,
  events: Events,
  /**
   * Optional, trailing, with `last` and `skip`: the sender's signature of the batch's final
   * (spec/ordering.md §16), covering every event from `event` to `last` not listed in `skip`.
   */
  sig: bytesOf(64).optional(),
  last: Uint.optional(),
  skip: z.array(Uint).optional(),
});
/** A `commits` frame, as decoded (spec/wire.md §5.23). */
export type CommitsFrame = z.infer<typeof CommitsFrameSchema>;

/**
 * Reconciliation frames (spec/wire.md §5.24 to spec/wire.md §5.27, spec/ordering.md §16): a destination whose
 * session with a multicast's sender ended while it held the event staged asks the event's other
 * receivers what became of it.
 */
const EventOf = { sender: PeerId, event: Uint } as const;

/** The `query` frame (spec/wire.md §5.24): what became of `sender`'s event `event` at the receiver? */
export const QueryFrameSchema = z.strictObject({ type: z.literal("query"), seq: Seq, ack: Uint, ...EventOf });
/** A `query` frame, as decoded (spec/wire.md §5.24). */
export type QueryFrame = z.infer<typeof QueryFrameSchema>;

/**
 * The `committed` frame (spec/wire.md §5.25): the answering receiver committed the event at
 * `lamport`; `sig` is the sender's signature over (sender, lamport, first, last, skip, dead), which
 * covers the event (first <= event <= last, not in skip). Empty `sig`: an unkeyed sender.
 */
export const CommittedFrameSchema = z.strictObject({
  type: z.literal("committed"),
  seq: Seq,
  ack: Uint,
  ...EventOf,
  lamport: Uint,
  dead: z.array(HandleRefSchema),
  sig: bytesOf(0, 64),
  first: Uint,
  last: Uint,
  skip: z.array(Uint),
});
/** A `committed` frame, as decoded (spec/wire.md §5.25). */
export type CommittedFrame = z.infer<typeof CommittedFrameSchema>;

/** The `fenced` frame (spec/wire.md §5.26): staged at the receiver, whose session with the sender ended. */
export const FencedFrameSchema = z.strictObject({
  type: z.literal("fenced"),
  seq: Seq,
  ack: Uint,
  ...EventOf,
});
/** A `fenced` frame, as decoded (spec/wire.md §5.26). */
export type FencedFrame = z.infer<typeof FencedFrameSchema>;

/** The `gone` frame (spec/wire.md §5.27): never committed at the receiver (or not its to tell). */
export const GoneFrameSchema = z.strictObject({ type: z.literal("gone"), seq: Seq, ack: Uint, ...EventOf });
/** A `gone` frame, as decoded (spec/wire.md §5.27). */
export type GoneFrame = z.infer<typeof GoneFrameSchema>;

/** Any frame of this version, by `type`. */
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
  UnicastsFrameSchema,
  AcceptsFrameSchema,
  StagesFrameSchema,
  ProposalsFrameSchema,
  CommitsFrameSchema,
  QueryFrameSchema,
  CommittedFrameSchema,
  FencedFrameSchema,
  GoneFrameSchema,
]);
/** Any decoded frame. */
export type Frame = z.infer<typeof FrameSchema>;
/** The name of a frame type (`hello`, `stage`, ...). */
export type FrameType = Frame["type"];

/** One frame type's wire layout: its code and the names of the fields after `[type, seq, ack]`. */
export interface FrameLayout {
  readonly type: FrameType;
  readonly code: number;
  readonly fields: readonly string[];
  /**
   * Optional fields after `fields`, in order (spec/wire.md §4): a frame may end before any of
   * them, but never skips one and writes a later one.
   */
  readonly optional?: readonly string[];
  /**
   * The frame's schema without the unknown-key check, which costs a fifth of validation; the
   * codec gets the same strictness by counting keys (a frame has exactly 3 + fields.length).
   */
  readonly schema: z.ZodType<Frame>;
}

function loose<S extends z.ZodRawShape>(schema: z.ZodObject<S>) {
  return z.object(schema.shape);
}

/** A batch's parallel lists have one entry per event. */
function sameLength(
  frame: { readonly payloads: readonly unknown[] } & Record<string, unknown>,
  list: string,
) {
  return (frame[list] as readonly unknown[]).length === frame.payloads.length;
}

/** Every frame type's layout (spec/wire.md §5); codes need not be contiguous. */
export const FRAME_LAYOUTS: readonly FrameLayout[] = [
  {
    type: "hello",
    code: 0,
    fields: ["versions", "peer", "key", "nonce", "session"],
    optional: ["time", "batches"],
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
  {
    type: "commit",
    code: 3,
    fields: ["event", "lamport", "dead"],
    optional: ["sig"],
    schema: loose(CommitFrameSchema),
  },
  { type: "abort", code: 4, fields: ["event"], schema: loose(AbortFrameSchema) },
  {
    type: "unicast",
    code: 5,
    fields: ["event", "clock", "node", "payload"],
    optional: ["accepted"],
    schema: loose(UnicastFrameSchema),
  },
  { type: "accept", code: 6, fields: ["event", "lamport"], schema: loose(AcceptFrameSchema) },
  {
    type: "reject",
    code: 7,
    fields: ["event", "code"],
    optional: ["node"],
    schema: loose(RejectFrameSchema),
  },
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
  {
    type: "unicasts",
    code: 20,
    fields: ["event", "clock", "to", "payloads"],
    optional: ["accepted"],
    schema: loose(UnicastsFrameSchema).refine((f) => sameLength(f, "to"), "to and payloads differ in length"),
  },
  {
    type: "accepts",
    code: 21,
    fields: ["event", "count", "lamport", "refusals"],
    optional: ["more"],
    schema: loose(AcceptsFrameSchema),
  },
  {
    type: "stages",
    code: 22,
    fields: ["event", "clock", "events", "targets", "payloads"],
    optional: ["groups", "receivers"],
    schema: loose(StagesFrameSchema)
      .refine(
        (f) => sameLength(f, "events") && sameLength(f, "targets"),
        "events, targets and payloads differ in length",
      )
      .refine(
        (f) => groupsOk(f.groups, f.receivers, f.events.length),
        "groups and receivers: both or neither, one receivers entry per event, each naming a group",
      ),
  },
  {
    type: "proposals",
    code: 23,
    fields: ["event", "lamport", "refusals", "destroyed"],
    optional: ["more"],
    schema: loose(ProposalsFrameSchema),
  },
  {
    type: "commits",
    code: 24,
    fields: ["event", "lamport", "events"],
    optional: ["sig", "last", "skip"],
    schema: loose(CommitsFrameSchema).refine(
      (f) => (f.sig === undefined) === (f.skip === undefined) && (f.last === undefined || f.last >= f.event),
      "sig, last and skip: all or none, last at least event",
    ),
  },
  { type: "query", code: 25, fields: ["sender", "event"], schema: loose(QueryFrameSchema) },
  {
    type: "committed",
    code: 26,
    fields: ["sender", "event", "lamport", "dead", "sig", "first", "last", "skip"],
    schema: loose(CommittedFrameSchema),
  },
  { type: "fenced", code: 27, fields: ["sender", "event"], schema: loose(FencedFrameSchema) },
  { type: "gone", code: 28, fields: ["sender", "event"], schema: loose(GoneFrameSchema) },
];

/** A stages frame's receiver lists: absent, or one index per event into the groups. */
export function groupsOk(
  groups: readonly unknown[] | undefined,
  receivers: readonly number[] | undefined,
  events: number,
): boolean {
  if (groups === undefined || receivers === undefined) return groups === receivers;
  return receivers.length === events && receivers.every((i) => i < groups.length);
}

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
  unicasts: 20,
  accepts: 21,
  stages: 22,
  proposals: 23,
  commits: 24,
  query: 25,
  committed: 26,
  fenced: 27,
  gone: 28,
};
