/**
 * `capbus send --request` against a peer that replies (this test process, or `capbus tail --echo`),
 * and how `send` fails or ends: a bad URL before any peer starts (exit 2), an owner nobody can
 * reach, a stopped owner, or no reply (exit 3, within its --timeout), SIGINT/SIGTERM (exit 130).
 * Also: the launcher's tsx path prints the same help as the bundle path.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startPeer } from "@capbus/node";
import { type Done, killAll, runCapbus, startCapbus } from "./support/cli-process.js";

after(killAll);

/** What `capbus send` has to start and stop a peer in, besides its --timeout. Generous: CI is slow. */
const STARTUP_SLACK_MS = 15_000;

test("send --request prints the reply's payload and exits 0", async () => {
  const replier = await startPeer();
  try {
    const url = replier.peer.export(replier.peer.createNode());
    const answering = (async () => {
      for await (const event of replier.peer) {
        if (event.kind === "message" && event.reply) {
          await event.reply({ echo: event.payload, by: "replier" });
          return;
        }
      }
    })();
    const r = await runCapbus(["send", url, "--request", "--json", '{"n":41}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { echo: { n: 41 }, by: "replier" });
    assert.equal(r.stderr, "");
    await answering;
  } finally {
    await replier.close();
  }
});

test("send --request with bytes: the reply's bytes print as {$bytes: hex}", async () => {
  const replier = await startPeer();
  try {
    const url = replier.peer.export(replier.peer.createNode());
    const answering = (async () => {
      for await (const event of replier.peer) {
        if (event.kind === "message" && event.reply) {
          await event.reply(Uint8Array.from([0xca, 0xfe]));
          return;
        }
      }
    })();
    const r = await runCapbus(["send", url, "-r", "--text", "ping"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { $bytes: "cafe" });
    await answering;
  } finally {
    await replier.close();
  }
});

test("send with a bad URL names the problem and exits 2 (usage) without starting a peer", async () => {
  const secret = "A".repeat(22);
  const cases: Array<[string, RegExp]> = [
    ["not a url", /bad capability URL 'not a url': expected capbus:\/\/host:port\/<peer>\/<secret>/],
    ["capbus://127.0.0.1:1", /expected <place>\/<peer id>\/<secret>/],
    [`capbus://127.0.0.1:1//${secret}`, /expected <place>\/<peer id>\/<secret>/],
    [`ws://127.0.0.1:1/p/${secret}`, /scheme 'ws:' is not one of/],
  ];
  for (const [url, message] of cases) {
    const r = await runCapbus(["send", url, "--request", "--json", "1"]);
    assert.equal(r.code, 2, `${url}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /Run 'capbus send --help' for usage\./);
    assert.equal(r.stdout, "");
  }
});

test("send to an owner nobody can reach: exit 3 with 'unreachable', within --timeout", async () => {
  // A URL that was valid: its owner is closed, so nothing listens on its port any more.
  const gone = await startPeer();
  const url = gone.peer.export(gone.peer.createNode());
  await gone.close();
  for (const request of [false, true]) {
    const args = ["send", url, "--json", "1", "--timeout", "1000", ...(request ? ["--request"] : [])];
    const r = await runCapbus(args);
    assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^capbus: unreachable: /);
    assert.equal(r.stdout, "");
    assert.ok(r.ms < 1000 + STARTUP_SLACK_MS, `took ${Math.round(r.ms)} ms`);
  }
});

test("the launcher's tsx path (CAPBUS_CLI_SOURCE=1) prints the same help as the default path", async () => {
  const [fast, source] = await Promise.all([
    runCapbus(["send", "--help"]),
    runCapbus(["send", "--help"], { CAPBUS_CLI_SOURCE: "1" }),
  ]);
  assert.equal(fast.code, 0);
  assert.equal(source.code, 0);
  assert.equal(fast.stdout, source.stdout);
});

/** Wait for a command's end, but at most `ms`: a command still running then is killed and fails the test. */
async function endsWithin(command: ReturnType<typeof startCapbus>, ms: number): Promise<Done> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), ms);
  });
  const end = await Promise.race([command.done, late]);
  clearTimeout(timer);
  if (end === "late") {
    command.child.kill("SIGKILL");
    assert.fail(`capbus did not end within ${ms} ms`);
  }
  return end;
}

/** A peer that takes requests and never answers them; `url` is its node's capability URL. */
async function silentReplier() {
  const started = await startPeer();
  const url = started.peer.export(started.peer.createNode());
  const requests: unknown[] = [];
  void (async () => {
    for await (const event of started.peer) if (event.kind === "message") requests.push(event.payload);
  })();
  return { url, requests, close: () => started.close() };
}

test("tail --echo and --reply-json answer requests: send --request prints the reply", {
  timeout: 60_000,
}, async () => {
  const echo = startCapbus(["tail", "--echo"]);
  const fixed = startCapbus(["tail", "--reply-json", '{"pong":true}']);
  try {
    const [echoUrl, fixedUrl] = await Promise.all([echo.line(0), fixed.line(0)]);
    const [echoed, answered] = await Promise.all([
      runCapbus(["send", echoUrl, "--request", "--json", '{"n":7}']),
      runCapbus(["send", fixedUrl, "--request", "--text", "ping"]),
    ]);
    assert.equal(echoed.code, 0, echoed.stderr);
    assert.deepEqual(JSON.parse(echoed.stdout), { n: 7 });
    assert.equal(answered.code, 0, answered.stderr);
    assert.deepEqual(JSON.parse(answered.stdout), { pong: true });
    // tail printed the request too, marked as one.
    const seen = JSON.parse(await echo.line(1)) as { payload: unknown; request?: boolean };
    assert.deepEqual(seen, { ...seen, payload: { n: 7 }, request: true });
  } finally {
    echo.child.kill("SIGTERM");
    fixed.child.kill("SIGTERM");
    await Promise.all([echo.done, fixed.done]);
  }
  const both = await runCapbus(["tail", "--echo", "--reply-json", "1"]);
  assert.equal(both.code, 2);
  const bad = await runCapbus(["tail", "--reply-json", "{"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--reply-json is not valid JSON/);
});

test("send --request to a peer that never replies: exit 3, 'no reply', within --timeout", {
  timeout: 60_000,
}, async () => {
  const replier = await silentReplier();
  try {
    const r = await endsWithin(
      startCapbus(["send", replier.url, "--request", "--json", "1", "--timeout", "1500"]),
      1500 + STARTUP_SLACK_MS,
    );
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^capbus: timed out: no reply within 1500 ms$/m);
    assert.equal(r.stdout, "");
    assert.deepEqual(replier.requests, [1]);
  } finally {
    await replier.close();
  }
});

test("send --request waiting for a reply ends at once on SIGTERM and on SIGINT: exit 130", {
  timeout: 60_000,
}, async () => {
  const replier = await silentReplier();
  try {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const before = replier.requests.length;
      const send = startCapbus(["send", replier.url, "--request", "--json", "2", "--timeout", "600000"]);
      // Signal once the request is in (the command is then waiting for the reply).
      while (replier.requests.length === before) await new Promise((resolve) => setTimeout(resolve, 50));
      send.child.kill(signal);
      const r = await endsWithin(send, 5000);
      assert.equal(r.code, 130, `${signal}: ${r.stderr}`);
      assert.match(r.stderr, /^capbus: interrupted$/m);
    }
  } finally {
    await replier.close();
  }
});

test("send to a stopped (SIGSTOP) owner: exit 3 within --timeout, and the command ends", {
  timeout: 60_000,
}, async () => {
  const tail = startCapbus(["tail"]);
  try {
    const url = await tail.line(0);
    tail.child.kill("SIGSTOP");
    for (const request of [false, true]) {
      const args = ["send", url, "--json", "1", "--timeout", "1000", ...(request ? ["--request"] : [])];
      const r = await endsWithin(startCapbus(args), 1000 + STARTUP_SLACK_MS);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^capbus: unreachable: /);
    }
  } finally {
    tail.child.kill("SIGKILL");
    await tail.done;
  }
});
