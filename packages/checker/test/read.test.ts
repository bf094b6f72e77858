import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { checkTraces, parseTrace, readTraceDir, runCheckTrace, TraceFormatError } from "@capbus/checker";
import { FileTraceSink } from "@capbus/trace/node";
import { TraceBuilder } from "./builder.js";

const root = mkdtempSync(join(tmpdir(), "capbus-checker-"));
after(() => rmSync(root, { recursive: true, force: true }));

function formatError(text: string, line: number | undefined): void {
  assert.throws(
    () => parseTrace(text, "x.jsonl"),
    (e: unknown) => e instanceof TraceFormatError && e.code === "E_TRACE_FORMAT" && e.line === line,
  );
}

const start = '{"peer":"A","op":"start"}';

describe("parseTrace", () => {
  test("reads records and skips blank lines", () => {
    const records = parseTrace(`${start}\n\n{"peer":"A","op":"close"}\n`, "x.jsonl");
    assert.deepEqual(records, [
      { peer: "A", op: "start" },
      { peer: "A", op: "close" },
    ]);
  });

  test("a malformed line is an error naming its line", () => {
    formatError(`${start}\n{"peer":"A","op":\n`, 2);
    formatError(`${start}\n{"peer":"A","op":\n${start}`, 2);
    formatError(`${start}\n{"peer":"A","op":"fly"}`, 2);
    formatError(`${start}\n{"peer":"A","op":"release","event":"e"}`, 2);
    formatError(`${start}\n{"peer":"A","op":"send","event":"e","to":["B"],"nodes":[],"handles":[]}`, 2);
  });

  test("a torn last line (no newline, not JSON) is skipped, with a warning naming it", () => {
    const warnings: string[] = [];
    const records = parseTrace(`${start}\n{"peer":"A","op":"se`, "x.jsonl", {
      warn: (message) => warnings.push(message),
    });
    assert.deepEqual(records, [{ peer: "A", op: "start" }]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /^x\.jsonl:2: a torn last line/);
  });

  test("structural rules: start first, one peer, nothing after close", () => {
    formatError('{"peer":"A","op":"close"}', 1);
    formatError(`${start}\n${start}`, 2);
    formatError(`${start}\n{"peer":"B","op":"close"}`, 2);
    formatError(`${start}\n{"peer":"A","op":"close"}\n{"peer":"A","op":"import","node":"n"}`, 3);
  });
});

describe("readTraceDir and the CLI", () => {
  function writeRun(dir: string, b: TraceBuilder): void {
    const sinks = new Map<string, FileTraceSink>();
    for (const r of b.records) {
      const sink = sinks.get(r.peer) ?? new FileTraceSink(dir, r.peer);
      sinks.set(r.peer, sink);
      sink.write(r);
    }
  }
  const good = () =>
    new TraceBuilder().start("A", "B").send("A", "m", ["B/1"]).deliver("B", "m", "B/1").close("A", "B");

  test("files written by FileTraceSink read back per peer", () => {
    const dir = join(root, "good");
    const b = good();
    writeRun(dir, b);
    const traces = readTraceDir(dir);
    assert.deepEqual(traces, b.traces());
    assert.equal(checkTraces(traces).ok, true);
  });

  test("exit codes: 0 clean, 1 violations, 2 malformed or unreadable", () => {
    const clean = join(root, "clean");
    writeRun(clean, good());
    const bad = join(root, "bad");
    writeRun(bad, new TraceBuilder().start("A", "B").send("A", "m", ["B/1"]).close("A", "B"));
    const broken = join(root, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "A.jsonl"), `${start}\nnot json\n`);

    const out: string[] = [];
    const print = (s: string) => out.push(s);
    assert.equal(runCheckTrace([clean], print), 0);
    assert.match(out.pop() ?? "", /OK: no violation/);
    assert.equal(runCheckTrace([bad], print), 1);
    assert.match(out.pop() ?? "", /\[P6\]/);
    assert.equal(runCheckTrace([broken], print), 2);
    assert.match(out.pop() ?? "", /E_TRACE_FORMAT: .*A\.jsonl:2: not JSON/);
    assert.equal(runCheckTrace([join(root, "missing")], print), 2);
    assert.equal(runCheckTrace([], print), 2);
  });

  test("a peer traced in two files is an error", () => {
    const dir = join(root, "twice");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.jsonl"), `${start}\n`);
    writeFileSync(join(dir, "b.jsonl"), `${start}\n`);
    assert.throws(() => readTraceDir(dir), TraceFormatError);
  });
});
