export * from "./format.js";
export { MemoryTraceSink } from "./memory-sink.js";
export { teeTraceSink } from "./tee-sink.js";
