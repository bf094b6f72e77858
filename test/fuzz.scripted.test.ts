/**
 * Fuzzing a real peer through scripted in-memory links (issue 8, bad input): 100,000 hostile
 * frames per run, split across generators that each declare the code the peer must close the
 * link with. Every attack gets a fresh attacker link on one victim per generator; after each,
 * the victim's good link must still deliver what was queued before and what is sent after.
 * FUZZ_FRAMES=<n> changes the budget; FC_SEED=<seed> replays a failure.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { FrameCodec } from "@capbus/wire";
import fc from "fast-check";
import { anyFrame } from "../packages/wire/test/arbitraries.js";
import { GENERATORS } from "./support/fuzz-attacks.js";
import { encodeCbor, frameTuple } from "./support/fuzz-cbor.js";
import { Victim } from "./support/fuzz-victim.js";

const BUDGET = Number(process.env.FUZZ_FRAMES ?? 100_000);
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const totalWeight = GENERATORS.reduce((n, g) => n + g.weight, 0);
const runs = new Map(GENERATORS.map((g) => [g.name, Math.floor((BUDGET * g.weight) / totalWeight)]));
// The rounding remainder goes to the last generator, so the budget is met exactly.
const last = GENERATORS.at(-1)!.name;
runs.set(last, runs.get(last)! + BUDGET - [...runs.values()].reduce((a, b) => a + b, 0));

/** Frames sent and codes seen, per generator. */
const frames = new Map<string, number>();
const codes = new Map<string, Map<string, number>>();
const valid = new Map<string, number>();
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);
process.on("unhandledRejection", onEscape);
process.on("uncaughtException", onEscape);
const started = performance.now();

after(() => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
});

test("the fuzzer's CBOR writer and field table agree with the codec", () => {
  const codec = new FrameCodec();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      assert.deepEqual(codec.decode(encodeCbor(frameTuple(frame))), frame);
    }),
    { numRuns: 500, ...seed },
  );
});

for (const generator of GENERATORS) {
  test(`fuzz: ${generator.name} → ${generator.expect === "*" ? "some code" : generator.expect}`, async () => {
    let victim = new Victim();
    const seen = new Map<string, number>();
    codes.set(generator.name, seen);
    let sent = 0;
    let accidentallyValid = 0;
    const details = fc.check(
      fc.property(generator.attacks, (attack) => {
        sent++;
        if (victim.broken) victim = new Victim(); // shrinking after a failure: a clean victim each run
        const { code } = victim.attack(attack, generator.expect);
        if (code === undefined) accidentallyValid++;
        else seen.set(code, (seen.get(code) ?? 0) + 1);
      }),
      { numRuns: runs.get(generator.name)!, ...seed },
    );
    if (details.failed) {
      throw new Error(`${fc.defaultReportMessage(details)}\n${String(details.errorInstance)}`);
    }
    frames.set(generator.name, sent);
    valid.set(generator.name, accidentallyValid);
    await victim.finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(escaped, [], "no exception or rejection escaped");
  });
}

test("every generator ran, the budget was met, and nothing escaped", () => {
  const seconds = (performance.now() - started) / 1000;
  const rows = GENERATORS.map((g) => {
    const seen = [...(codes.get(g.name) ?? new Map<string, number>())].map(([c, n]) => `${c} ${n}`);
    const ok = valid.get(g.name) ?? 0;
    if (ok > 0) seen.push(`valid (link left up) ${ok}`);
    return `  ${String(frames.get(g.name) ?? 0).padStart(6)}  ${g.name}: ${seen.join(", ")}`;
  });
  const total = [...frames.values()].reduce((a, b) => a + b, 0);
  console.log(
    `fuzz (scripted links): ${total} hostile frames in ${seconds.toFixed(1)} s\n${rows.join("\n")}`,
  );
  for (const g of GENERATORS) assert.ok((frames.get(g.name) ?? 0) > 0, `generator "${g.name}" never ran`);
  assert.ok(total >= BUDGET, `${total} frames, below the budget of ${BUDGET}`);
  assert.deepEqual(escaped, []);
});
