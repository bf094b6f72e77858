/** The testkit's own behaviour with tiny children (no peers): lines, stop, kill, failures, cleanup. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { TestKit, testKit } from "../src/index.js";

const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url);

for (const run of ["bundle", "tsx"] as const) {
  test(`a child gets its inputs, talks both ways, and stops gracefully (${run})`, async (t) => {
    const kit = testKit(t, { run });
    const child = await kit.start("echo-1", fixture("echo"), { greeting: "hi" });
    assert.deepEqual(child.urls, { greeting: "hi" });
    child.tell({ ping: 1 });
    assert.deepEqual((await child.next("echo")).echo, { ping: 1 });
    assert.deepEqual(await child.stop(), { code: 0, signal: null });
    assert.ok(
      child.lines.some((l) => l.stopping === "echo-1"),
      "its onStop ran",
    );
  });
}

test("a child that ignores SIGTERM is killed after the grace", async (t) => {
  const kit = testKit(t, { graceMs: 300 });
  const child = await kit.start("stubborn", fixture("stubborn"));
  assert.deepEqual(await child.stop(), { code: null, signal: "SIGKILL" });
  assert.match(child.output, /ignoring SIGTERM/);
});

test("a child that exits before ready fails ready with its output", async (t) => {
  const kit = testKit(t);
  await assert.rejects(kit.start("crash", fixture("crash")), (e: Error & { code?: string }) => {
    assert.equal(e.code, "E_EXITED");
    assert.match(e.message, /code 3/);
    assert.match(e.message, /boom: no config/);
    return true;
  });
});

test("a child that dies of an error: the failure quotes the error's first line, however long its stack", async (t) => {
  const kit = testKit(t);
  await assert.rejects(kit.start("throws", fixture("throws")), (e: Error & { code?: string }) => {
    assert.equal(e.code, "E_EXITED");
    assert.match(e.message, /exited \(code 1\): TypeError: the config file has no 'peers' section;/);
    return true;
  });
  assert.equal(kit.processes[0]?.firstError, "TypeError: the config file has no 'peers' section");
});

/** A line type declared as an interface (no index signature): `next<T>` takes it. */
interface EchoLine {
  readonly echo: { readonly ping: number };
}

test("next<T> takes any object type for the line, interfaces included", async (t) => {
  const kit = testKit(t);
  const child = await kit.start("echo-2", fixture("echo"), { greeting: "hi" });
  child.tell({ ping: 2 });
  const line = await child.next<EchoLine>("echo");
  assert.equal(line.echo.ping, 2);
});

test("waiting for a line that never comes times out", async (t) => {
  const kit = testKit(t);
  const child = await kit.start("echo", fixture("echo"), { greeting: "hi" });
  await assert.rejects(child.next("never", { timeoutMs: 200 }), { code: "E_TIMEOUT" });
});

test("check refuses a run with no traces; dispose stops children and removes temp dirs", async () => {
  const kit = new TestKit();
  const child = await kit.start("echo", fixture("echo"), { greeting: "hi" });
  const socket = kit.socketPath("x");
  await assert.rejects(kit.check(), { code: "E_NO_TRACES" });
  assert.notEqual(child.exit, undefined, "check stopped the child first");
  await kit[Symbol.asyncDispose]();
  assert.equal(existsSync(kit.traceDir), false);
  assert.equal(existsSync(socket.slice(0, socket.lastIndexOf("/"))), false);
  assert.throws(() => kit.spawn("late", fixture("echo")), { code: "E_DISPOSED" });
});

test("testKit(t) ends its children when the test ends, even a failing one", async (t) => {
  let started: TestKit["processes"][number] | undefined;
  // A todo subtest may fail without failing this test.
  await t.test("inner", { todo: "fails on purpose" }, async (inner) => {
    started = await testKit(inner).start("echo", fixture("echo"), { greeting: "hi" });
    throw new Error("the test fails with a child running");
  });
  assert.ok(started);
  assert.deepEqual(await started.exited, { code: 0, signal: null });
});

test("the README example: two processes, a capability URL, a checked trace", async (t) => {
  const kit = testKit(t);
  const b = await kit.start("B", fixture("hello"));
  await kit.start("A", fixture("hello"), { to: b.urls.inbox });
  assert.deepEqual(await b.next("got"), { got: "hello" });
  const report = await kit.check();
  assert.equal(report.counts.peers, 2);
  assert.equal(report.counts.crashed, 0);
});
