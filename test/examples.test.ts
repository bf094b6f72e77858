/** The runnable examples: each is run as `npm run example:<name>` runs it, and its output checked. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/run-script.js";

test("examples/chat: members join by URL, talk in one order, and a leave is announced", async () => {
  const r = await runScript("examples/chat/main.ts");
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /room: lobby at capbus:\/\//);
  assert.match(
    r.stdout,
    /ann saw:\n {2}\* ann joined\n {2}\* bob joined\n {2}\* cat joined\n {2}<ann> hi all/,
  );
  assert.match(r.stdout, /\* cat left\n {2}<ann> see you cat/);
  assert.match(r.stdout, /ann and bob agree on the order: true/);
});

test("examples/power-events: every subscriber sees the same events in the same order", async () => {
  const r = await runScript("examples/power-events/main.ts", ["5"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /5 subscribers\nsubscriber-5 left; 4 subscribers now/);
  assert.match(r.stdout, /all 4 remaining subscribers saw the same 9 events in the same order: true/);
});

test("examples/object-passing: the handle travels the chain; the destroy reaches everyone", async () => {
  const r = await runScript("examples/object-passing/main.ts", ["3"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /peer-2 passed it to peer-3/);
  assert.match(r.stdout, /owner received \{"text":"hello from peer-3"\} straight from peer-3/);
  for (const who of ["owner", "peer-1", "peer-2", "peer-3"])
    assert.match(r.stdout, new RegExp(`${who}: destroyed \\(reason destroyed`));
  assert.match(r.stdout, /writing after the destroy: E_DESTROYED/);
  assert.match(r.stdout, /everyone was told: true/);
});
