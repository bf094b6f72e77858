/**
 * The capbus wire format: frames as zod schemas, the CBOR codec, wire errors (spec/wire.md).
 *
 * @module @capbus/wire
 */
export { type DecodeResult, decodeFrame, type FrameBody, FrameCodec } from "./codec.js";
export { WireError, WireErrorCode } from "./errors.js";
export {
  type AbortFrame,
  AbortFrameSchema,
  type AcceptFrame,
  AcceptFrameSchema,
  type AckFrame,
  AckFrameSchema,
  type AuthFrame,
  AuthFrameSchema,
  type ClaimFrame,
  ClaimFrameSchema,
  type CloseFrame,
  CloseFrameSchema,
  type CommitFrame,
  CommitFrameSchema,
  type DeadFrame,
  DeadFrameSchema,
  type DestroyFrame,
  DestroyFrameSchema,
  type EndpointsFrame,
  EndpointsFrameSchema,
  FRAME_CODES,
  type Frame,
  FrameSchema,
  type FrameType,
  type GrantedFrame,
  GrantedFrameSchema,
  type HandleRef,
  HandleRefSchema,
  type HelloFrame,
  HelloFrameSchema,
  type NoticeFrame,
  NoticeFrameSchema,
  type ProposeFrame,
  ProposeFrameSchema,
  type RejectFrame,
  RejectFrameSchema,
  type ReleaseFrame,
  ReleaseFrameSchema,
  type StageFrame,
  StageFrameSchema,
  type UnicastFrame,
  UnicastFrameSchema,
  WIRE_VERSION,
} from "./frames.js";
export {
  DEFAULT_MAX_DECODED_BYTES,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_FRAME_BYTES,
  type ResolvedLimits,
  type WireLimits,
} from "./limits.js";
export { assertPayload } from "./payload.js";
export { DECODED_COST } from "./profile.js";
