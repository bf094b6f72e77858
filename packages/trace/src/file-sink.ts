/**
 * A trace sink writing one JSON Lines file per peer (spec/trace.md, "File layout").
 * Each record is appended with a synchronous write, so a process killed at any point has lost no
 * line it wrote before; opening by path per record keeps no descriptor open, so a process hosting
 * thousands of peers cannot run out of them.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TraceRecord, TraceSink } from "./format.js";

/** The environment variable naming the trace directory; unset or empty turns tracing off. */
export const TRACE_DIR_ENV = "CAPBUS_TRACE";

/** A record handed to a sink belongs to another peer. */
export class TraceSinkError extends Error {
  static override readonly name = "TraceSinkError";
  override readonly name = "TraceSinkError";
  readonly code = "E_TRACE_PEER";
}

/**
 * The file name of a peer's trace: the id with every byte outside `[A-Za-z0-9._-]` written as
 * `%XX` (upper-case hex of its UTF-8 bytes), then `.jsonl`. The mapping is injective, and a peer id
 * can never name a path outside the directory (`/` and `\` are encoded).
 */
export function traceFileName(peerId: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(peerId)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${out}.jsonl`;
}

export class FileTraceSink implements TraceSink {
  readonly path: string;

  constructor(
    readonly dir: string,
    readonly peerId: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, traceFileName(peerId));
  }

  /** Append one record as a JSON line; throws TraceSinkError for a record of another peer. */
  write(record: TraceRecord): void {
    if (record.peer !== this.peerId) {
      throw new TraceSinkError(`record of peer ${record.peer} written to the trace of ${this.peerId}`);
    }
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }
}

/** The trace directory named by `CAPBUS_TRACE` (resolved against the working directory), if any. */
export function traceDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[TRACE_DIR_ENV];
  return dir === undefined || dir === "" ? undefined : resolve(dir);
}

/** A file sink for `peerId` when `CAPBUS_TRACE` is set, else undefined (tracing off). */
export function fileTraceSinkFromEnv(
  peerId: string,
  env: NodeJS.ProcessEnv = process.env,
): FileTraceSink | undefined {
  const dir = traceDirFromEnv(env);
  return dir === undefined ? undefined : new FileTraceSink(dir, peerId);
}
