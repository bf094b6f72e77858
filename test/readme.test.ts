/**
 * The README's example is examples/readme/main.ts: it runs and prints what its comments promise,
 * and the README's code block is that file, byte for byte (so neither can drift from the other).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runScript } from "./support/run-script.js";

const ROOT = join(import.meta.dirname, "..");
const EXAMPLE = join(ROOT, "examples", "readme", "main.ts");

test("the README's code block under 'In 20 lines' is examples/readme/main.ts", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## In 20 lines"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.equal(block, readFileSync(EXAMPLE, "utf8"));
  assert.ok(block.split("\n").length <= 22, "the example stays about 20 lines");
});

test("examples/readme runs: the message arrives and the holder is told of the destroy", async () => {
  const { code, stdout, stderr } = await runScript(EXAMPLE, [], 60_000);
  assert.equal(code, 0, stderr + stdout);
  assert.match(stdout, /committed at \{\s+lamport: \d+,/);
  assert.match(stdout, /a got \{ hello: 'world' \}/);
  assert.match(stdout, /b was told: destroyed/);
});
