/**
 * Scenario vectors (spec/vectors/scenarios/): each file drives one real peer through scripted
 * frames from named peers and checks what it sends back and what it delivers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadScenarios, runScenario, type Scenario } from "./support/scenario-runner.js";

const dir = fileURLToPath(new URL("../spec/vectors/scenarios/", import.meta.url));
const scenarios = loadScenarios(dir);

test("the scenario vectors include the required scenarios", () => {
  const names = new Set(scenarios.map((s) => s.file));
  for (const required of [
    "abc-announcement-before-request.json",
    "transfer-owner-notice.json",
    "transfer-receiver-stage.json",
    "destroy-races-transfer.json",
    "multicast-between-concurrent.json",
    "refused-multicast-aborted.json",
  ]) {
    assert.ok(names.has(required), `${required} is present`);
  }
});

for (const { file, scenario } of scenarios) {
  test(`scenario ${file}: ${scenario.name}`, () => runScenario(scenario));
}

test("the runner fails a wrong expectation and a frame left unread", async () => {
  const base: Scenario = {
    name: "self-check",
    peer: "D",
    remotes: ["A"],
    steps: [
      { call: "createNode" },
      { call: "grant", node: "D/1", holder: "A" },
      { from: "A", frame: { type: "unicast", event: 1, clock: 0, node: 1, payload: "m" } },
    ],
  };
  const wrong = { expect: "sent", to: "A", frame: { type: "accept", event: 1, lamport: 2 } };
  await assert.rejects(runScenario({ ...base, steps: [...base.steps, wrong] }), assert.AssertionError);
  await assert.rejects(runScenario(base), assert.AssertionError, "the accept and the delivery were not read");
  const right = { expect: "sent", to: "A", frame: { type: "accept", event: 1, lamport: 1 } };
  const delivered = { expect: "delivered", event: { kind: "message", ts: [1, "A", 1] } };
  await runScenario({ ...base, steps: [...base.steps, right, delivered] });
});
