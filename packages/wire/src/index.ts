export { type DecodeResult, decodeFrame, FrameCodec } from "./codec.js";
export { WireError, WireErrorCode } from "./errors.js";
export {
  type AbortFrame,
  AbortFrameSchema,
  type AcceptFrame,
  AcceptFrameSchema,
  type AckFrame,
  AckFrameSchema,
  type CloseFrame,
  CloseFrameSchema,
  type CommitFrame,
  CommitFrameSchema,
  FRAME_CODES,
  type Frame,
  FrameSchema,
  type FrameType,
  type HandleRef,
  HandleRefSchema,
  type HelloFrame,
  HelloFrameSchema,
  type ProposeFrame,
  ProposeFrameSchema,
  type RejectFrame,
  RejectFrameSchema,
  type StageFrame,
  StageFrameSchema,
  type UnicastFrame,
  UnicastFrameSchema,
  WIRE_VERSION,
} from "./frames.js";
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_FRAME_BYTES,
  type ResolvedLimits,
  type WireLimits,
} from "./limits.js";
export { assertPayload } from "./payload.js";
