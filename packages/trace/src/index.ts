export * from "./format.js";
export { MemoryTraceSink } from "./memory-sink.js";
