import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { TraceRecord } from "@capbus/trace";
import {
  FileTraceSink,
  fileTraceSinkFromEnv,
  TraceSinkError,
  traceDirFromEnv,
  traceFileName,
} from "@capbus/trace/node";

const root = mkdtempSync(join(tmpdir(), "capbus-trace-"));
after(() => rmSync(root, { recursive: true, force: true }));

const records: TraceRecord[] = [
  { peer: "A", op: "start" },
  { peer: "A", op: "send", event: "A:1", to: ["B"], nodes: ["B/1"], handles: ["A/2"] },
  {
    peer: "A",
    op: "deliver",
    event: "B:1",
    kind: "message",
    node: "A/1",
    ts: [3, "B", 1],
    handles: [],
    dead: ["C/1"],
  },
  { peer: "A", op: "close" },
];

test("records land as lines, in order, and read back", () => {
  const dir = join(root, "nested", "run");
  const sink = new FileTraceSink(dir, "A");
  for (const r of records) sink.write(r);
  assert.deepEqual(readdirSync(dir), ["A.jsonl"]);
  const text = readFileSync(join(dir, "A.jsonl"), "utf8");
  assert.ok(text.endsWith("\n"));
  const lines = text.split("\n").slice(0, -1);
  assert.deepEqual(
    lines.map((l) => TraceRecord.parse(JSON.parse(l))),
    records,
  );
});

test("a second sink for the same file appends", () => {
  const dir = join(root, "append");
  new FileTraceSink(dir, "A").write({ peer: "A", op: "start" });
  new FileTraceSink(dir, "A").write({ peer: "A", op: "close" });
  assert.equal(readFileSync(join(dir, "A.jsonl"), "utf8").split("\n").length, 3);
});

test("a record of another peer is refused", () => {
  const sink = new FileTraceSink(join(root, "other"), "A");
  assert.throws(
    () => sink.write({ peer: "B", op: "start" }),
    (e: unknown) => e instanceof TraceSinkError && e.code === "E_TRACE_PEER",
  );
});

test("peer ids are encoded into safe, distinct file names", () => {
  assert.equal(traceFileName("peer-1_x.y"), "peer-1_x.y.jsonl");
  assert.equal(traceFileName("../etc/passwd"), "..%2Fetc%2Fpasswd.jsonl");
  assert.equal(traceFileName("a b%"), "a%20b%25.jsonl");
  assert.equal(traceFileName("é"), "%C3%A9.jsonl");
  assert.notEqual(traceFileName("a/b"), traceFileName("a%2Fb"));
});

test("CAPBUS_TRACE turns the file sink on", () => {
  assert.equal(traceDirFromEnv({}), undefined);
  assert.equal(traceDirFromEnv({ CAPBUS_TRACE: "" }), undefined);
  assert.equal(traceDirFromEnv({ CAPBUS_TRACE: "rel/dir" }), resolve("rel/dir"));
  assert.equal(fileTraceSinkFromEnv("A", {}), undefined);
  const dir = join(root, "env");
  const sink = fileTraceSinkFromEnv("A", { CAPBUS_TRACE: dir });
  assert.ok(sink instanceof FileTraceSink);
  assert.equal(sink.path, join(dir, "A.jsonl"));
});
