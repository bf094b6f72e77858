/**
 * `capbus send --request` against a peer that replies (this test process), and how `send` fails:
 * a bad URL before any peer starts (exit 2), an owner nobody can reach (exit 3, within its
 * --timeout). Also: the launcher's tsx path prints the same help as the bundle path.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startPeer } from "@capbus/node";
import { killAll, runCapbus } from "./support/cli-process.js";

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
