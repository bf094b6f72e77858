/**
 * Reading traces (spec/trace.md): one JSON Lines file per peer, every line validated with the
 * schema of @capbus/trace, plus the structural rules a checker relies on.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TraceRecord } from "@capbus/trace";
import { TraceFormatError } from "./errors.js";

/** Every peer's records, in that peer's order. */
export type Traces = ReadonlyMap<string, readonly TraceRecord[]>;

/** Options of `parseTrace` and `readTraces`. */
export interface ReadOptions {
  /**
   * Told what was skipped or looks wrong without being malformed: a torn last line, traces of more
   * than one run in one folder. @default undefined: not told
   */
  warn?: ((message: string) => void) | undefined;
}

/**
 * Parses one peer's trace file; `source` names it in errors. A last line with no newline that is
 * not JSON was torn by a process killed while writing it (each record is one write ending in a
 * newline): it is skipped, with a warning.
 */
export function parseTrace(text: string, source: string, options: ReadOptions = {}): TraceRecord[] {
  const records: TraceRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (cause) {
      if (i === lines.length - 1) {
        options.warn?.(
          `${source}:${i + 1}: a torn last line (its process was killed while writing it?), skipped`,
        );
        break;
      }
      throw new TraceFormatError("not JSON", source, i + 1, { cause });
    }
    const parsed = TraceRecord.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
      throw new TraceFormatError(`invalid record${where}: ${issue?.message ?? "?"}`, source, i + 1, {
        cause: parsed.error,
      });
    }
    const record = parsed.data;
    checkStructure(record, records[0], records[records.length - 1], source, i + 1);
    records.push(record);
  }
  return records;
}

/**
 * Checks the rules beyond the schema on records built in memory; `source` names them in errors and
 * line numbers count records from 1.
 */
export function validateTrace(records: readonly TraceRecord[], source: string): void {
  for (let i = 0; i < records.length; i++) {
    checkStructure(records[i]!, i === 0 ? undefined : records[0], records[i - 1], source, i + 1);
  }
}

/** The rules beyond the schema: one peer per file, start first, nothing after close. */
function checkStructure(
  record: TraceRecord,
  first: TraceRecord | undefined,
  prev: TraceRecord | undefined,
  source: string,
  line: number,
) {
  if (first === undefined) {
    if (record.op !== "start")
      throw new TraceFormatError(`first record is ${record.op}, not start`, source, line);
    return;
  }
  if (record.peer !== first.peer) {
    throw new TraceFormatError(`record of peer ${record.peer} in the trace of ${first.peer}`, source, line);
  }
  if (record.op === "start") throw new TraceFormatError("a second start", source, line);
  if (prev?.op === "close") throw new TraceFormatError("a record after close", source, line);
  if (record.op === "send" && record.to.length !== record.nodes.length) {
    throw new TraceFormatError("send: `to` and `nodes` differ in length", source, line);
  }
}

/**
 * Reads trace files: each path is a `.jsonl` file or a directory whose `*.jsonl` files are read.
 * Empty files are skipped (a peer that wrote nothing has nothing to check). Traces that fall into
 * groups of peers that never linked to each other look like several runs in one folder: `warn`
 * is told.
 */
export function readTraces(paths: readonly string[], options: ReadOptions = {}): Map<string, TraceRecord[]> {
  const files: string[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (cause) {
      throw new TraceFormatError("cannot read", path, undefined, { cause });
    }
    if (!isDir) files.push(path);
    else {
      for (const name of readdirSync(path).sort()) if (name.endsWith(".jsonl")) files.push(join(path, name));
    }
  }
  const traces = new Map<string, TraceRecord[]>();
  const sourceOf = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (cause) {
      throw new TraceFormatError("cannot read", file, undefined, { cause });
    }
    const records = parseTrace(text, file, options);
    const peer = records[0]?.peer;
    if (peer === undefined) continue;
    const earlier = sourceOf.get(peer);
    if (earlier !== undefined) throw new TraceFormatError(`peer ${peer} also traced in ${earlier}`, file);
    sourceOf.set(peer, file);
    traces.set(peer, records);
  }
  const groups = runGroups(traces);
  if (groups.length > 1) {
    const sizes = groups.map((group) => group.length).join(" + ");
    options.warn?.(
      `${paths.join(", ")}: ${traces.size} traces in ${groups.length} groups of peers that never linked to each other (${sizes} peers): more than one run? Give each run its own folder.`,
    );
  }
  return traces;
}

/**
 * The peers in groups that had contact (a link, a send, an expiry between them), each group
 * sorted: one group per run, as a run's peers all talk to someone in it.
 */
export function runGroups(traces: Traces): string[][] {
  const parent = new Map<string, string>();
  const root = (peer: string): string => {
    let at = peer;
    while (parent.get(at) !== at) at = parent.get(at) ?? at;
    parent.set(peer, at);
    return at;
  };
  const join = (a: string, b: string) => {
    if (parent.has(b)) parent.set(root(a), root(b));
  };
  for (const peer of traces.keys()) parent.set(peer, peer);
  for (const [peer, records] of traces) {
    for (const record of records) {
      if (record.op === "link" || record.op === "expire") join(peer, record.other);
      else if (record.op === "send") for (const to of record.to) join(peer, to);
    }
  }
  const groups = new Map<string, string[]>();
  for (const peer of traces.keys()) {
    const group = groups.get(root(peer)) ?? [];
    group.push(peer);
    groups.set(root(peer), group);
  }
  return [...groups.values()].map((group) => group.sort());
}

/** Reads every `*.jsonl` file of one trace directory. */
export function readTraceDir(dir: string, options: ReadOptions = {}): Map<string, TraceRecord[]> {
  return readTraces([dir], options);
}

/** Groups records (e.g. from an in-memory sink) by peer, keeping each peer's order. */
export function tracesFromRecords(records: Iterable<TraceRecord>): Map<string, TraceRecord[]> {
  const traces = new Map<string, TraceRecord[]>();
  for (const r of records) {
    const list = traces.get(r.peer) ?? [];
    traces.set(r.peer, list);
    list.push(r);
  }
  return traces;
}
