/**
 * The model check (spec/verification.md) in `npm test`: only a cheap syntax check of the Promela
 * configurations, never the exhaustive search. The search and the mutations run once, in
 * `npm run test:model`, which `npm run test:full` (CI) runs and which fails without spin.
 * Without spin this file skips, saying why. The skip is on purpose: `npm test` needs only Node.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CONFIGS, MODEL_DIR, MUTATIONS } from "../scripts/model-runs.js";

const hasSpin = spawnSync("sh", ["-c", "command -v spin"], { stdio: "ignore" }).status === 0;

test("every model configuration and mutation parses (spin -a)", (t) => {
  if (!hasSpin) {
    t.skip("spin is not installed: `npm run test:model` (part of `npm run test:full`) needs it");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "capbus-model-syntax-"));
  try {
    for (const f of readdirSync(MODEL_DIR)) if (f.endsWith(".pml")) cpSync(join(MODEL_DIR, f), join(dir, f));
    const runs = [
      ...CONFIGS.map((c) => ({ config: c.name, defines: [] as readonly string[] })),
      ...MUTATIONS.map((m) => ({ config: m.config, defines: m.defines })),
    ];
    for (const { config, defines } of runs) {
      const r = spawnSync("spin", ["-a", ...defines.map((d) => `-D${d}`), `${config}.pml`], {
        cwd: dir,
        encoding: "utf8",
      });
      assert.equal(r.status, 0, `spin -a ${defines.join(" ")} ${config}.pml:\n${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
