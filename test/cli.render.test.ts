/**
 * `capbus trace render`, run as users run it (`node packages/cli/bin/capbus.mjs ...`), on the
 * traces of a real run: a seeded workload of the peer engine on the simulator, written to one
 * JSON Lines file per peer as CAPBUS_TRACE would.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "@capbus/cli";
import { traceFileName } from "@capbus/trace/node";
import { killAll, runCapbus } from "./support/cli-process.js";
import { runWorkload } from "./support/workload.js";

const scratch = mkdtempSync(join(tmpdir(), "capbus-render-"));
after(() => {
  killAll();
  rmSync(scratch, { recursive: true, force: true });
});

/** The command in this process, its output collected. */
async function capbus(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = {
    out: (line: string) => {
      out += `${line}\n`;
    },
    err: (line: string) => {
      err += `${line}\n`;
    },
    stop: new AbortController().signal,
  };
  return { code: await main(args, io), out, err };
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe("capbus trace render", { timeout: 120_000 }, () => {
  const traces = join(scratch, "run");
  let peers = 0;
  let deliveries = 0;

  before(async () => {
    const workload = await runWorkload({ seed: 11, peers: 4, operations: 30 });
    mkdirSync(traces);
    for (const [peer, records] of workload.traces.byPeer) {
      const lines = records.map((r) => `${JSON.stringify(r)}\n`).join("");
      writeFileSync(join(traces, traceFileName(peer)), lines);
      deliveries += records.filter((r) => r.op === "deliver").length;
    }
    peers = workload.traces.byPeer.size;
    assert.ok(deliveries > 50, `a run worth drawing: ${deliveries} deliveries`);
  });

  test("HTML: one lane per peer, one arrow per delivery, a summary on stdout", async () => {
    const out = join(scratch, "order.html");
    const r = await runCapbus(["trace", "render", traces, "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`order\\.html: ${peers} peers, \\d+ events, ${deliveries} deliveries, no violation`),
    );
    const html = readFileSync(out, "utf8");
    assert.match(html, /^<!doctype html>/);
    assert.equal(count(html, '<g class="lane"'), peers);
    assert.equal(count(html, '<path class="arrow'), deliveries);
    assert.equal(count(html, 'class="peer-filter"'), peers);
    assert.doesNotMatch(html, /class="[^"]*\bviolation\b/, "a clean run has nothing in red");
  });

  test("SVG: the same picture, static; --format and --title; -o - writes to stdout", async () => {
    const out = join(scratch, "order.svg");
    const r = await runCapbus(["trace", "render", traces, "-o", out, "--title", "seed 11"]);
    assert.equal(r.code, 0, r.stderr);
    const svg = readFileSync(out, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.doesNotMatch(svg, /<script/);
    assert.equal(count(svg, '<path class="arrow'), deliveries);
    assert.match(svg, />seed 11</);
    const piped = await runCapbus(["trace", "render", traces, "-o", "-", "--format", "svg"]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /^<svg xmlns=/);
    assert.equal(count(piped.stdout, '<path class="arrow'), deliveries);
  });

  test("bad input from the real command: a clear message and exit 2", async () => {
    const junk = join(scratch, "junk.jsonl");
    writeFileSync(junk, '{"peer":"A","op":"start"}\n{not json\n');
    const malformed = await runCapbus(["trace", "render", junk, "-o", join(scratch, "x.html")]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /E_TRACE_FORMAT: .*junk\.jsonl:2: not JSON/);
  });

  // The other cases in-process (main never exits the process): one process start each is slow.
  test("--help, missing or unreadable input, usage errors, an unwritable output", async () => {
    const help = await capbus(["trace", "render", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /usage: capbus trace render TRACE\.\.\. -o FILE/);
    assert.equal((await capbus(["trace", "--help"])).code, 0);

    const missing = await capbus(["trace", "render", join(scratch, "nope"), "-o", join(scratch, "x.html")]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /E_TRACE_FORMAT: .*nope: cannot read/);

    const empty = join(scratch, "empty");
    mkdirSync(empty);
    const none = await capbus(["trace", "render", empty, "-o", join(scratch, "x.html")]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no trace records/);

    const noOutput = await capbus(["trace", "render", traces]);
    assert.equal(noOutput.code, 2);
    assert.match(noOutput.err, /missing -o FILE[\s\S]*capbus trace render --help/);
    const format = await capbus(["trace", "render", traces, "-o", "-", "--format", "png"]);
    assert.equal(format.code, 2);
    assert.match(format.err, /--format must be html or svg/);
    // An extension that is neither .html nor .svg is refused, and nothing is written.
    const png = join(scratch, "x.png");
    const extension = await capbus(["trace", "render", traces, "-o", png]);
    assert.equal(extension.code, 2);
    assert.match(extension.err, /'\.png' is neither \.html nor \.svg/);
    assert.equal(existsSync(png), false);
    assert.equal((await capbus(["trace", "render", traces, "-o", png, "--format", "svg"])).code, 0);
    const option = await capbus(["trace", "render", traces, "--bogus"]);
    assert.equal(option.code, 2);
    assert.match(option.err, /--bogus/);
    assert.equal((await capbus(["trace", "frobnicate"])).code, 2);
    assert.equal((await capbus(["trace"])).code, 2);

    const unwritable = await capbus([
      "trace",
      "render",
      traces,
      "-o",
      join(scratch, "no", "such", "dir.html"),
    ]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.err, /cannot write/);
  });
});
