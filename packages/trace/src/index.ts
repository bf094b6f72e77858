/**
 * The capbus trace format (spec/trace.md) and the sinks that work anywhere.
 *
 * @module @capbus/trace
 */
export * from "./format.js";
export { MemoryTraceSink } from "./memory-sink.js";
export { teeTraceSink } from "./tee-sink.js";
