/**
 * Two real processes exchange a seeded stream over a Unix socket while a proxy between them
 * resets, stalls and delays the connection again and again. The receiver's deliveries must equal
 * the sender's sends, in order, with nothing lost and nothing twice (P6).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Child, startChild } from "./children.js";
import { FaultyProxy } from "./proxy.js";
import { streamValue } from "./stream.js";

const here = import.meta.dirname;
const SEED = Number(process.env.CAPBUS_SEED ?? 6);
const COUNT = 5000;

test(`a stream of ${COUNT} survives resets, stalls and delays (seed ${SEED})`, {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "capbus-procs-"));
  const children: Child[] = [];
  let proxy: FaultyProxy | undefined;
  let faults: ReturnType<typeof setInterval> | undefined;
  try {
    const backPath = join(dir, "b.sock");
    const frontPath = join(dir, "proxy.sock");
    const receiver = startChild(join(here, "receiver.ts"), [backPath, String(COUNT)]);
    children.push(receiver);
    const bId = (await receiver.next("ready")).ready;
    proxy = await FaultyProxy.start(frontPath, backPath);
    const sender = startChild(join(here, "sender.ts"), [frontPath, bId, String(SEED), String(COUNT)]);
    children.push(sender);
    const aId = (await sender.next("ready")).ready;
    receiver.process.stdin.write(`${aId}\n`);
    await receiver.next("granted");
    sender.process.stdin.write("go\n");

    // Faults on a fixed rhythm: resets, a stall past the dead-link timeout, a slow patch.
    let tick = 0;
    const p = proxy;
    faults = setInterval(() => {
      tick++;
      if (tick % 4 === 1) p.reset();
      else if (tick % 4 === 2) p.stall(tick % 8 === 2 ? 700 : 150);
      else if (tick % 4 === 3) p.delayMs = 3;
      else p.delayMs = 0;
    }, 120);

    const { got } = await receiver.next("got");
    await sender.next("sent");
    clearInterval(faults);
    assert.equal(got.length, COUNT);
    got.forEach(([i, v], at) => {
      assert.equal(i, at, `message ${at} in order`);
      assert.equal(v, streamValue(SEED, i), `message ${at} intact`);
    });
    assert.ok(p.resets >= 2, `the link was reset (${p.resets} times)`);
  } finally {
    if (faults) clearInterval(faults);
    for (const child of children) child.kill();
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
