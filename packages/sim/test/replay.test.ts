import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReplay, SEED_ENV, seedFromEnv, withReplay } from "@capbus/sim";

test("formatReplay gives one copy-pastable command", () => {
  assert.equal(
    formatReplay(123, "packages/sim/test/network.test.ts"),
    "CAPBUS_SEED=123 node --conditions=@capbus/source --import tsx --test packages/sim/test/network.test.ts",
  );
  assert.equal(
    formatReplay(7, "t.test.ts", { testNamePattern: "cut loses", env: { CAPBUS_RUNS: "1" } }),
    "CAPBUS_SEED=7 CAPBUS_RUNS=1 node --conditions=@capbus/source --import tsx --test " +
      "--test-name-pattern='cut loses' t.test.ts",
  );
});

test("seedFromEnv reads CAPBUS_SEED, else the default", () => {
  const before = process.env[SEED_ENV];
  try {
    delete process.env[SEED_ENV];
    assert.equal(seedFromEnv(42), 42);
    process.env[SEED_ENV] = "123";
    assert.equal(seedFromEnv(42), 123);
    process.env[SEED_ENV] = "0xffffffff";
    assert.equal(seedFromEnv(42), 0xffffffff);
    process.env[SEED_ENV] = "-1";
    assert.throws(() => seedFromEnv(42), RangeError);
    process.env[SEED_ENV] = "abc";
    assert.throws(() => seedFromEnv(42), /CAPBUS_SEED=abc/);
  } finally {
    if (before === undefined) delete process.env[SEED_ENV];
    else process.env[SEED_ENV] = before;
  }
});

test("withReplay appends the replay line to a failure", async () => {
  assert.equal(await withReplay(5, "x.test.ts", (s) => s * 2), 10);
  await assert.rejects(
    withReplay(5, "x.test.ts", async () => {
      throw new Error("boom");
    }),
    (err: Error) => err.message === `boom\nreplay: ${formatReplay(5, "x.test.ts")}`,
  );
});
