/**
 * Pieces every socket transport shares: liveness, redialling, error codes (spec/transports.md).
 *
 * @module @capbus/transport
 */
export { DEFAULT_GRACE_MS, Dialer, type DialOptions, sessionDefaults, type TransportLink } from "./dialer.js";
export { TransportErrorCode } from "./errors.js";
export { Liveness, type LivenessOptions } from "./liveness.js";
