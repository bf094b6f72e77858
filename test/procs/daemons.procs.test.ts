/**
 * The seed's scenario as three real processes (examples/network-daemons): link manager A
 * multicasts link announcements to B and C; B, on each delivery, asks C to start DHCP. C must
 * have delivered the announcement before B's request, and the checker must pass over the three
 * traces, over WebSocket, over Unix sockets, and over a mix of both.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readTraceDir } from "@capbus/checker";
import { layoutRun } from "@capbus/render";
import { testKit } from "@capbus/testkit";
import { deliveries, runScenario, type ScenarioOptions } from "../../examples/network-daemons/scenario.js";

const LINKS = ["eth0", "wlan0", "eth1", "wwan0"];

/** Run the scenario in a fresh kit; assert C's order and the checker. */
async function scenario(
  t: test.TestContext,
  listen: (socket: (name: string) => string) => ScenarioOptions["listen"],
) {
  const kit = testKit(t);
  const run = await runScenario(kit, {
    links: LINKS,
    listen: listen((name) => `unix:${kit.socketPath(name)}`),
  });
  // C answered every request knowing its link: the announcement came first at C.
  assert.deepEqual(run.answers.map((a) => a.link).sort(), [...LINKS].sort());
  for (const answer of run.answers) assert.equal(answer.knewLink, true, `C knew ${answer.link} when asked`);
  // And in C's delivery order, each announcement precedes the request it caused.
  const atC = deliveries(run.c).map((d) => d.payload as { kind: string; link: string });
  for (const link of LINKS) {
    const announced = atC.findIndex((m) => m.kind === "link-added" && m.link === link);
    const asked = atC.findIndex((m) => m.kind === "start-dhcp" && m.link === link);
    assert.ok(announced >= 0 && asked > announced, `C: link-added ${link} before start-dhcp ${link}`);
  }
  // B and C delivered A's announcements in the same order.
  const announcements = (d: ReturnType<typeof deliveries>) =>
    d.filter((x) => (x.payload as { kind: string }).kind === "link-added").map((x) => x.ts.join());
  assert.deepEqual(announcements(deliveries(run.b)), announcements(deliveries(run.c)));
  const report = await kit.check();
  assert.equal(report.counts.peers, 3);
  assert.equal(report.counts.crashed, 0, "every process closed its peer");
  // The peers' names label the lanes of the run's diagram, and A's sends carry their payloads.
  const traces = readTraceDir(kit.traceDir);
  assert.deepEqual(
    layoutRun(traces, report).lanes.map((l) => l.label),
    ["A link-manager", "B policy-daemon", "C dhcp-client"],
  );
  const summaries = [...traces.values()].flat().flatMap((r) => (r.op === "send" ? [r.summary] : []));
  assert.ok(summaries.includes('{"kind":"link-added","link":"eth0"}'), summaries.join(" "));
  for (const p of kit.processes)
    assert.deepEqual(p.exit, { code: 0, signal: null }, `${p.name} exited cleanly`);
  return run;
}

test("A/B/C as three processes over WebSocket", { timeout: 60_000 }, async (t) => {
  const run = await scenario(t, () => undefined);
  assert.match(run.c.urls.dhcp ?? "", /^capbus:\/\/127\.0\.0\.1:\d+\//);
});

test("A/B/C as three processes over Unix sockets", { timeout: 60_000 }, async (t) => {
  const run = await scenario(t, (socket) => ({ A: [socket("a")], B: [socket("b")], C: [socket("c")] }));
  assert.match(run.c.urls.dhcp ?? "", /^capbus\+unix:\/\/\//);
  assert.match(run.b.urls.policy ?? "", /^capbus\+unix:\/\/\//);
});

test("A/B/C over a mix of ws and Unix links", { timeout: 60_000 }, async (t) => {
  // A only on a socket, B only on ws, C on both (its URL names the socket): A-B is ws, A-C and
  // B-C are Unix sockets.
  const run = await scenario(t, (socket) => ({
    A: [socket("a")],
    B: ["ws://127.0.0.1:0"],
    C: [socket("c"), "ws://127.0.0.1:0"],
  }));
  assert.match(run.b.urls.policy ?? "", /^capbus:\/\//);
  assert.match(run.c.urls.dhcp ?? "", /^capbus\+unix:\/\/\//);
});
