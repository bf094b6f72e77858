import type { TraceRecord, TraceSink } from "./format.js";

/** Write every record to each of `sinks` (those that are undefined are skipped). */
export function teeTraceSink(...sinks: ReadonlyArray<TraceSink | undefined>): TraceSink | undefined {
  const present = sinks.filter((s): s is TraceSink => s !== undefined);
  if (present.length <= 1) return present[0];
  return {
    write(record: TraceRecord): void {
      for (const sink of present) sink.write(record);
    },
  };
}
