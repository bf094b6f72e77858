/**
 * The kit's runner: checks in groups, in the order an implementer brings a peer up (spec/README.md
 * "Conformance kit"): codec, handshake, holder, owner, ordering, resume, hostile. Each check is one
 * result line; a check that throws fails with the error's message.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseTrace } from "@capbus/checker";
import { parseCapabilityUrl } from "@capbus/core";
import type { TraceRecord } from "@capbus/trace";
import { traceFileName } from "@capbus/trace/node";
import { CheckFailure, type Target } from "./remote.js";

/** The groups, in the order they run. */
export const GROUPS = ["codec", "handshake", "holder", "owner", "ordering", "resume", "hostile"] as const;
/** One group of checks. */
export type Group = (typeof GROUPS)[number];

/** One check's outcome. */
export interface CheckResult {
  readonly group: Group;
  readonly name: string;
  readonly status: "ok" | "fail" | "skip";
  /** Why it failed, or why it was skipped. */
  readonly why?: string;
  readonly ms: number;
}

/** How to reach the peer under test and what it offers (spec/README.md, the contract). */
export interface ConformanceOptions {
  /** Where it listens: `ws://host:port` or `unix:/path`. */
  readonly endpoint: string;
  /** The capability URL of its test node. */
  readonly node: string;
  /** Its trace: the file, or the directory it writes `<id>.jsonl` into. Checks that need it are skipped without. */
  readonly trace?: string | undefined;
  /** The vectors directory (spec/vectors). @default the repository's, next to this package */
  readonly vectors?: string | undefined;
  /** Run only these groups. @default all */
  readonly groups?: readonly Group[] | undefined;
  /** How long to wait for an answer. @default 2000 */
  readonly answerMs?: number | undefined;
  /** Called with each result as it comes. */
  readonly report?: ((result: CheckResult) => void) | undefined;
}

/** The whole run: every result, and the counts. */
export interface ConformanceSummary {
  readonly results: readonly CheckResult[];
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly ms: number;
}

/** What a group's checks get. */
export interface Context {
  readonly target: Target;
  readonly vectors: string;
  readonly trace: PeerTrace | undefined;
  /** Run one check. `body` throws CheckFailure (or anything) to fail, resolves with a string to skip. */
  check(name: string, body: () => Promise<unknown>): Promise<void>;
}

/** Thrown by a check that cannot run here (a vector for other limits, no trace given). */
export class Skip extends Error {
  override readonly name = "Skip";
}

/**
 * The default vectors: spec/vectors of the repository this module sits in, found by walking up
 * from it (the sources, a compiled dist and the CLI bundle sit at different depths).
 */
export function defaultVectors(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const vectors = join(dir, "spec", "vectors");
    if (existsSync(join(vectors, "frames", "valid.json"))) return vectors;
    dir = dirname(dir);
  }
  throw new Error("no spec/vectors above the kit: give the vectors directory (--vectors)");
}

/** The peer under test's trace file, read afresh on each look. */
export class PeerTrace {
  readonly path: string;

  constructor(where: string, peer: string) {
    this.path = existsSync(where) && statSync(where).isDirectory() ? join(where, traceFileName(peer)) : where;
  }

  records(): TraceRecord[] {
    if (!existsSync(this.path)) return [];
    return parseTrace(readFileSync(this.path, "utf8"), this.path);
  }

  /** Wait (up to `ms`) until `done` holds for the records; returns the last records read. */
  async until(done: (records: TraceRecord[]) => boolean, ms: number): Promise<TraceRecord[]> {
    const end = Date.now() + ms;
    for (;;) {
      const records = this.records();
      if (done(records) || Date.now() > end) return records;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export type GroupRunner = (ctx: Context) => Promise<void>;

export async function run(
  options: ConformanceOptions,
  groups: Record<Group, GroupRunner>,
): Promise<ConformanceSummary> {
  const started = Date.now();
  const url = parseCapabilityUrl(options.node);
  const target: Target = {
    endpoint: options.endpoint,
    id: url.peer,
    secret: url.secret,
    node: -1,
    keyed: false,
    answerMs: options.answerMs ?? 2000,
    skewMs: 0,
  };
  // The URL names the peer and a secret, not the node: one claim tells (and whether it is keyed).
  target.node = await nodeOf(target);
  const results: CheckResult[] = [];
  const trace = options.trace === undefined ? undefined : new PeerTrace(options.trace, target.id);
  for (const group of GROUPS) {
    if (options.groups && !options.groups.includes(group)) continue;
    const ctx: Context = {
      target,
      vectors: options.vectors ?? defaultVectors(),
      trace,
      check: async (name, body) => {
        const at = Date.now();
        let result: CheckResult;
        try {
          const skipped = await body();
          result =
            typeof skipped === "string"
              ? { group, name, status: "skip", why: skipped, ms: Date.now() - at }
              : { group, name, status: "ok", ms: Date.now() - at };
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          const status = error instanceof Skip ? "skip" : "fail";
          result = {
            group,
            name,
            status,
            why:
              error instanceof CheckFailure || status === "skip"
                ? why
                : `${error instanceof Error ? error.name : "error"}: ${why}`,
            ms: Date.now() - at,
          };
        }
        results.push(result);
        options.report?.(result);
      },
    };
    await groups[group](ctx);
  }
  const count = (status: CheckResult["status"]) => results.filter((r) => r.status === status).length;
  return {
    results,
    ok: count("ok"),
    failed: count("fail"),
    skipped: count("skip"),
    ms: Date.now() - started,
  };
}

/** The node a capability URL names, learnt by claiming it once. */
async function nodeOf(target: Target): Promise<number> {
  const { Remote } = await import("./remote.js");
  const remote = await Remote.create(target);
  try {
    await remote.handshake();
    remote.send({ type: "claim", event: remote.nextEvent(), secret: target.secret });
    const granted = await remote.expectFrame("granted");
    if (granted.type !== "granted") throw new CheckFailure("no granted");
    return granted.node;
  } finally {
    remote.end();
  }
}
