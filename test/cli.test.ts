/**
 * The `capbus` command, run as users run it: `node packages/cli/bin/capbus.mjs ...` in child
 * processes on loopback. Every process started here is ended before its test finishes.
 */
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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

  test("every --help lists every exit code its command uses", async () => {
    const codes: Array<[string[], number[]]> = [
      [["--help"], [0, 1, 2, 3, 130]],
      [
        ["tail", "--help"],
        [0, 1, 2],
      ],
      [
        ["send", "--help"],
        [0, 1, 2, 3, 130],
      ],
      [
        ["check", "--help"],
        [0, 1, 2, 3],
      ],
      [
        ["peer", "--help"],
        [0, 1, 2],
      ],
      [
        ["trace", "--help"],
        [0, 2],
      ],
      [
        ["trace", "render", "--help"],
        [0, 1, 2],
      ],
    ];
    for (const [args, expected] of codes) {
      const r = await runCapbus(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      const listed = r.stdout.slice(r.stdout.indexOf("exit codes:"));
      assert.ok(listed.length < r.stdout.length, `${args.join(" ")} lists no exit codes`);
      const found = [...listed.matchAll(/(?:^|[\s,:])(\d{1,3})(?= )/g)].map((m) => Number(m[1]));
      assert.deepEqual(
        [...new Set(found)].sort((a, b) => a - b),
        expected,
        args.join(" "),
      );
    }
  });

  test("no command, an unknown command or option: exit 2 with a pointer to --help", async () => {
    assert.equal((await runCapbus([])).code, 2);
    const unknown = await runCapbus(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.match(unknown.stderr, /Run 'capbus --help' for usage\./);
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
    assert.match(wrong.stderr, /no export with this secret \(a wrong secret, or the URL was revoked\)/);
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

describe("capbus check: no traces, several runs, a torn last line", () => {
  const start = (peer: string) => JSON.stringify({ peer, op: "start" });
  const close = (peer: string) => JSON.stringify({ peer, op: "close" });

  test("a folder with no trace: exit 2, as trace render", async () => {
    const empty = join(scratch, "no-traces");
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, "notes.txt"), "not a trace\n");
    const check = await runCapbus(["check", empty]);
    assert.equal(check.code, 2, check.stdout);
    assert.match(check.stderr, /no trace records in/);
    const render = await runCapbus(["trace", "render", empty, "-o", join(scratch, "none.html")]);
    assert.equal(render.code, 2);
  });

  test("a torn last line of a killed process is skipped with a warning, not a failure", async () => {
    const dir = join(scratch, "torn");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "A.jsonl"), `${start("A")}\n{"peer":"A","op":"se`);
    const r = await runCapbus(["check", dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /^capbus: warning: .*A\.jsonl:2: a torn last line/m);
    assert.match(r.stdout, /OK: no violation/);
    // A bad line that is not the last (or ends with its newline) is still malformed.
    writeFileSync(join(dir, "A.jsonl"), `${start("A")}\n{"peer":"A","op":"se\n`);
    assert.equal((await runCapbus(["check", dir])).code, 2);
  });

  test("traces of peers that never linked to each other: both commands warn of several runs", async () => {
    const dir = join(scratch, "two-runs");
    mkdirSync(dir, { recursive: true });
    const link = (peer: string, other: string) => JSON.stringify({ peer, op: "link", other });
    writeFileSync(join(dir, "A.jsonl"), `${start("A")}\n${link("A", "B")}\n${close("A")}\n`);
    writeFileSync(join(dir, "B.jsonl"), `${start("B")}\n${link("B", "A")}\n${close("B")}\n`);
    writeFileSync(join(dir, "C.jsonl"), `${start("C")}\n${close("C")}\n`);
    const check = await runCapbus(["check", dir]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(
      check.stderr,
      /warning: .*3 traces in 2 groups of peers that never linked .*more than one run\?/,
    );
    const render = await runCapbus(["trace", "render", dir, "-o", join(scratch, "two-runs.html")]);
    assert.equal(render.code, 0, render.stderr);
    assert.match(render.stderr, /more than one run\?/);
    // One run: no warning.
    rmSync(join(dir, "C.jsonl"));
    assert.equal((await runCapbus(["check", dir])).stderr, "");
  });

  test("check --help explains the report's words", async () => {
    const r = await runCapbus(["check", "--help"]);
    for (const word of ["expiries", "without close", "excused", "aborts"])
      assert.match(r.stdout, new RegExp(word));
  });
});

describe("Unix socket listeners", () => {
  test("a socket file left by a killed process is removed on restart; a live one is in use", async () => {
    const socket = join(scratch, "stale.sock");
    const first = startCapbus(["peer", "--unix", socket]);
    await first.line(0);
    first.child.kill("SIGKILL"); // no clean close: the socket file stays
    await first.done;
    assert.ok(existsSync(socket), "the killed peer left its socket file");
    const second = startCapbus(["peer", "--unix", socket]);
    const info = JSON.parse(await second.line(0)) as { endpoints: string[] };
    assert.deepEqual(info.endpoints, [`unix:${socket}`]);
    // Now something listens there: a third one may not take it over.
    const third = await runCapbus(["peer", "--unix", socket]);
    assert.equal(third.code, 1, third.stderr);
    assert.match(third.stderr, /address in use/);
    second.child.kill("SIGTERM");
    assert.equal((await second.done).code, 0);
  });

  test("a regular file in the socket's place is never removed", async () => {
    const file = join(scratch, "not-a-socket");
    writeFileSync(file, "keep me\n");
    const r = await runCapbus(["peer", "--unix", file]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(readFileSync(file, "utf8"), "keep me\n");
  });

  test("a missing folder for the socket says so, not EACCES", async () => {
    const r = await runCapbus(["tail", "--listen", `unix:${join(scratch, "no-such-folder", "x.sock")}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no such folder .*no-such-folder/);
    assert.doesNotMatch(r.stderr, /EACCES/);
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
