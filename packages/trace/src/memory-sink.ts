import type { TraceRecord, TraceSink } from "./format.js";

/** Keeps records in memory, grouped by peer: for in-process runs checked without files. */
export class MemoryTraceSink implements TraceSink {
  readonly byPeer = new Map<string, TraceRecord[]>();

  /** Keep one record under its peer. */
  write(record: TraceRecord): void {
    let records = this.byPeer.get(record.peer);
    if (!records) {
      records = [];
      this.byPeer.set(record.peer, records);
    }
    records.push(record);
  }

  /** Every record, one peer after another. */
  all(): TraceRecord[] {
    return [...this.byPeer.values()].flat();
  }
}
