/**
 * The `capbus` command, run as users run it: `node packages/cli/bin/capbus.mjs ...` in child
 * processes on loopback. Every process started here is ended before its test finishes.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { killAll, runCapbus, startCapbus } from "./support/cli-process.js";

const scratch = mkdtempSync(join(tmpdir(), "capbus-cli-"));

after(() => {
  killAll();
  rmSync(scratch, { recursive: true, force: true });
});

describe("capbus --help and usage errors", () => {
  test("--help on every command exits 0", async () => {
    const top = await runCapbus(["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /usage: capbus <command>/);
    for (const command of ["tail", "send", "check", "peer", "trace"]) {
      const r = await runCapbus([command, "--help"]);
      assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`usage: capbus ${command}`));
    }
  });

  test("no command, an unknown command or option: exit 2 with a pointer to --help", async () => {
    assert.equal((await runCapbus([])).code, 2);
    const unknown = await runCapbus(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const option = await runCapbus(["tail", "--bogus"]);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /--bogus[\s\S]*capbus tail --help/);
  });

  test("bad URLs, payloads and endpoints name the problem, exit 2", async () => {
    const scheme = await runCapbus(["send", "http://127.0.0.1:1/p/AAAAAAAAAAAAAAAAAAAAAA", "--json", "1"]);
    assert.equal(scheme.code, 2);
    assert.match(scheme.stderr, /scheme 'http:' is not one of capbus:\/\//);
    const short = await runCapbus(["send", "capbus://127.0.0.1:1/p/abc", "--json", "1"]);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /secret must be 22 or more/);
    const missing = await runCapbus(["send", "--json", "1"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing the capability URL/);
    const json = await runCapbus(["send", "capbus://127.0.0.1:1/p/AAAAAAAAAAAAAAAAAAAAAA", "--json", "{bad"]);
    assert.equal(json.code, 2);
    assert.match(json.stderr, /--json is not valid JSON/);
    const hex = await runCapbus(["send", "capbus://127.0.0.1:1/p/AAAAAAAAAAAAAAAAAAAAAA", "--bytes", "abc"]);
    assert.equal(hex.code, 2);
    const listen = await runCapbus(["peer", "--listen", "http://127.0.0.1:0"]);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /bad endpoint 'http:\/\/127.0.0.1:0'/);
    const check = await runCapbus(["check"]);
    assert.equal(check.code, 2);
  });
});

describe("capbus tail, send and check against each other", { timeout: 120_000 }, () => {
  const traces = join(scratch, "traces");
  let url = "";

  test("tail prints its URL, then each event as one JSON line; send prints the result", async () => {
    const tail = startCapbus(["tail", "--count", "2"], { CAPBUS_TRACE: traces });
    url = await tail.line(0);
    assert.match(url, /^capbus:\/\/127\.0\.0\.1:\d+\/[^/]+\/[A-Za-z0-9_-]{22}$/);

    const sent = await runCapbus(["send", url, "--json", '{"hello":"world"}'], { CAPBUS_TRACE: traces });
    assert.equal(sent.code, 0, sent.stderr);
    const result = JSON.parse(sent.stdout) as { ok: boolean; destinations: Array<{ committed: boolean }> };
    assert.equal(result.ok, true);
    assert.equal(result.destinations[0]?.committed, true);

    const message = JSON.parse(await tail.line(1)) as Record<string, unknown>;
    assert.equal(message.kind, "message");
    assert.deepEqual(message.payload, { hello: "world" });
    // The sender closed: its handle was released, in the order.
    const released = JSON.parse(await tail.line(2)) as Record<string, unknown>;
    assert.equal(released.kind, "released");
    assert.equal(released.reason, "released");
    const end = await tail.done;
    assert.equal(end.code, 0, end.stderr);
  });

  test("send --bytes arrives as {$bytes: hex}; tail stops on SIGTERM with exit 0", async () => {
    const tail = startCapbus(["tail"]);
    const here = await tail.line(0);
    const sent = await runCapbus(["send", here, "--bytes", "00ff10"]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual((JSON.parse(await tail.line(1)) as { payload: unknown }).payload, { $bytes: "00ff10" });
    tail.child.kill("SIGTERM");
    assert.equal((await tail.done).code, 0);
  });

  test("tail --verbose logs sessions to stderr; --stats prints Peer.stats() there as JSON lines", async () => {
    const tail = startCapbus(["tail", "--verbose", "--stats", "0.2"]);
    const here = await tail.line(0);
    const sent = await runCapbus(["send", here, "--json", "1"]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((JSON.parse(await tail.line(1)) as { payload: unknown }).payload, 1);
    const statsLines = (text: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith('{"stats":'))
        .map((l) => (JSON.parse(l) as { stats: { events: { delivered: number } } }).stats);
    // A stats line printed after the message was delivered counts it.
    await tail.errUntil((text) => statsLines(text).some((st) => st.events.delivered >= 1));
    tail.child.kill("SIGTERM");
    const end = await tail.done;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stderr, /^capbus: info: session up \{"remote":"[^"]+"\}$/m);
    const last = statsLines(end.stderr).at(-1) as unknown as Record<string, unknown>;
    for (const key of ["at", "events", "queue", "rounds", "fast", "links"]) assert.ok(key in last, key);
    // stdout stays the events alone.
    for (const line of end.stdout.trim().split("\n").slice(1))
      assert.ok("kind" in (JSON.parse(line) as object), line);
  });

  test("a URL with a wrong secret: exit 1; an owner that is gone: exit 3", async () => {
    const tail = startCapbus(["tail"]);
    const here = await tail.line(0);
    const wrong = await runCapbus(["send", here.replace(/[^/]+$/, "A".repeat(22)), "--json", "1"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /E_NO_EXPORT/);
    tail.child.kill("SIGTERM");
    await tail.done;
    const gone = await runCapbus(["send", here, "--json", "1", "--timeout", "500"]);
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /unreachable/);
  });

  test("check: exit 0 on the traces written above, 1 when a delivery is out of order, 2 on junk", async () => {
    assert.ok(url, "the first test ran");
    const ok = await runCapbus(["check", traces]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /OK: no violation/);

    // Swap the receiver's two deliveries: the message and the release arrive out of order.
    const owner = decodeURIComponent(url.split("/").at(-2)!);
    const file = join(traces, readdirSync(traces).find((f) => f.startsWith(owner))!);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    const delivers = lines.flatMap((l, i) => (l.includes('"op":"deliver"') ? [i] : []));
    const [a, b] = delivers as [number, number];
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    const bad = join(scratch, "bad");
    rmSync(bad, { recursive: true, force: true });
    cpSync(traces, bad, { recursive: true });
    writeFileSync(join(bad, file.split("/").at(-1)!), `${lines.join("\n")}\n`);
    const violated = await runCapbus(["check", bad]);
    assert.equal(violated.code, 1, violated.stdout);
    assert.match(violated.stdout, /VIOLATIONS/);

    const junk = join(scratch, "junk.jsonl");
    writeFileSync(junk, "{not json\n");
    const malformed = await runCapbus(["check", junk]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stdout, /E_TRACE_FORMAT/);
  });
});

test("capbus peer prints its endpoints and stops on SIGTERM", async () => {
  const socket = join(scratch, "relay.sock");
  const peer = startCapbus(["peer", "--listen", "ws://127.0.0.1:0", "--unix", socket]);
  const info = JSON.parse(await peer.line(0)) as { peer: string; endpoints: string[] };
  assert.match(info.peer, /^[a-z0-9]+$/);
  assert.equal(info.endpoints.length, 2);
  assert.match(info.endpoints[0]!, /^ws:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(info.endpoints[1], `unix:${socket}`);
  peer.child.kill("SIGTERM");
  assert.equal((await peer.done).code, 0);
});

test("capbus peer --name writes the name in its trace's start record; an empty name is a usage error", async () => {
  const traces = join(scratch, "named");
  const peer = startCapbus(["peer", "--name", "B policy-daemon"], { CAPBUS_TRACE: traces });
  const info = JSON.parse(await peer.line(0)) as { peer: string };
  peer.child.kill("SIGTERM");
  assert.equal((await peer.done).code, 0);
  const [file] = readdirSync(traces);
  const start = JSON.parse(readFileSync(join(traces, file!), "utf8").split("\n")[0]!) as unknown;
  assert.deepEqual(start, { peer: info.peer, op: "start", name: "B policy-daemon" });
  const empty = await runCapbus(["tail", "--name", ""]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /--name must not be empty/);
});
