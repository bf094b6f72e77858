import assert from "node:assert/strict";
import { test } from "node:test";
import { SimLivelockError, SimScheduler } from "@capbus/sim";

test("timers fire at their virtual time, ties in scheduling order", () => {
  const s = new SimScheduler();
  const log: string[] = [];
  s.setTimer(10, () => log.push(`b@${s.now()}`));
  s.setTimer(5, () => log.push(`a@${s.now()}`));
  s.setTimer(10, () => log.push(`c@${s.now()}`));
  s.setTimer(0, () => {
    log.push(`z@${s.now()}`);
    s.setTimer(5, () => log.push(`d@${s.now()}`)); // same time as "a", scheduled later
  });
  assert.equal(s.now(), 0);
  assert.equal(s.runUntilIdle(), 5);
  assert.deepEqual(log, ["z@0", "a@5", "d@5", "b@10", "c@10"]);
  assert.equal(s.now(), 10);
});

test("cancel prevents firing and is idempotent; negative delays clamp to now", () => {
  const s = new SimScheduler();
  const log: number[] = [];
  const cancel = s.setTimer(5, () => log.push(5));
  s.setTimer(-3, () => log.push(0));
  s.setTimer(7, () => log.push(7));
  cancel();
  cancel();
  assert.equal(s.pending, 2);
  s.runUntilIdle();
  assert.deepEqual(log, [0, 7]);
  assert.equal(s.pending, 0);
  const late = s.setTimer(1, () => log.push(99));
  s.runUntilIdle();
  late(); // cancelling after it ran is a no-op
  assert.deepEqual(log, [0, 7, 99]);
  assert.throws(() => s.setTimer(Number.NaN, () => {}), RangeError);
});

test("many cancelled timers are shed and do not affect order", () => {
  const s = new SimScheduler();
  const log: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const c = s.setTimer(i, () => log.push(-1));
    s.setTimer(i, () => log.push(i));
    c();
  }
  assert.equal(s.pending, 1000);
  s.runUntilIdle();
  assert.deepEqual(
    log,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

test("runFor runs what is due and moves the clock exactly", () => {
  const s = new SimScheduler({ startTime: 100 });
  const log: number[] = [];
  s.setTimer(10, () => log.push(s.now()));
  s.setTimer(20, () => log.push(s.now()));
  s.setTimer(21, () => log.push(s.now()));
  assert.equal(s.runFor(20), 2);
  assert.equal(s.now(), 120);
  assert.deepEqual(log, [110, 120]);
  assert.equal(s.nextTime(), 121);
  assert.equal(s.runFor(100), 1);
  assert.equal(s.now(), 220);
});

test("step runs one task", () => {
  const s = new SimScheduler();
  let n = 0;
  s.setTimer(3, () => n++);
  s.setTimer(4, () => n++);
  assert.equal(s.step(), true);
  assert.equal(n, 1);
  assert.equal(s.now(), 3);
  assert.equal(s.step(), true);
  assert.equal(s.step(), false);
});

test("maxSteps guards against livelock", () => {
  const s = new SimScheduler();
  const again = (): void => {
    s.setTimer(1, again);
  };
  again();
  assert.throws(() => s.runUntilIdle({ maxSteps: 100 }), SimLivelockError);
  assert.throws(() => s.runUntilIdle({ maxSteps: 100 }), /maxSteps=100.*livelock/);
});

test("randomBytes is seeded; named runtimes have their own streams", () => {
  const bytes = (s: SimScheduler) => {
    const b = new Uint8Array(16);
    s.randomBytes(b);
    return b;
  };
  assert.deepEqual(bytes(new SimScheduler({ seed: 3 })), bytes(new SimScheduler({ seed: 3 })));
  assert.notDeepEqual(bytes(new SimScheduler({ seed: 3 })), bytes(new SimScheduler({ seed: 4 })));
  const s = new SimScheduler({ seed: 3 });
  const p = s.runtime("peer-a");
  const a = new Uint8Array(8);
  p.randomBytes(a);
  const t = new SimScheduler({ seed: 3 });
  bytes(t); // using the shared stream does not shift a named one
  const b = new Uint8Array(8);
  t.runtime("peer-a").randomBytes(b);
  assert.deepEqual(a, b);
  let fired = -1;
  p.setTimer(4, () => {
    fired = p.now();
  });
  s.runUntilIdle();
  assert.equal(fired, 4);
});

test("run lets promise continuations happen at the virtual time of the task that caused them", async () => {
  const s = new SimScheduler();
  const sleep = (ms: number) => new Promise<void>((r) => s.setTimer(ms, r));
  const log: string[] = [];
  const worker = async (name: string, ms: number) => {
    for (let i = 0; i < 3; i++) {
      await sleep(ms);
      await Promise.resolve(); // a little extra chain depth
      log.push(`${name}${i}@${s.now()}`);
    }
  };
  const done = Promise.all([worker("a", 10), worker("b", 15)]);
  const result = await s.run();
  await done;
  assert.equal(result.reason, "idle");
  assert.equal(result.steps, 6);
  assert.deepEqual(log, ["a0@10", "b0@15", "a1@20", "b1@30", "a2@30", "b2@45"]);
});

test("run stops on until() and on maxTime; settle and advance", async () => {
  const s = new SimScheduler();
  let ticks = 0;
  const tick = (): void => {
    ticks++;
    s.setTimer(10, tick);
  };
  s.setTimer(10, tick);
  const r1 = await s.run({ until: () => ticks >= 3 });
  assert.deepEqual(r1, { steps: 3, reason: "until" });
  assert.equal(s.now(), 30);
  const r2 = await s.run({ maxTime: 25 });
  assert.deepEqual(r2, { steps: 2, reason: "maxTime" });
  assert.equal(s.now(), 55);
  await assert.rejects(s.settle({ maxSteps: 50 }), SimLivelockError);

  const q = new SimScheduler();
  q.setTimer(5, () => {});
  assert.equal(await q.advance(100), 1);
  assert.equal(q.now(), 100);
  let done = false;
  void (async () => {
    await new Promise<void>((r) => q.setTimer(7, r));
    done = true;
  })();
  assert.equal(await q.settle(), 1);
  assert.equal(done, true);
  assert.equal(q.now(), 107);
});

test("an injected drain is used between tasks", async () => {
  let drains = 0;
  const s = new SimScheduler({
    drain: async () => {
      drains++;
    },
  });
  s.setTimer(1, () => {});
  s.setTimer(2, () => {});
  await s.run();
  assert.equal(drains, 3); // once before, once after each task
});

test("the default drain runs continuations of any depth before the next task; drainTurns bounds it", async () => {
  const deep = async (s: SimScheduler, depth: number, log: string[]) => {
    await new Promise<void>((r) => s.setTimer(1, r));
    for (let i = 0; i < depth; i++) await Promise.resolve();
    log.push(`deep@${s.now()}`);
  };
  for (const [options, expected] of [
    [{}, ["deep@1", "next@2"]],
    [{ drainTurns: 8 }, ["next@2", "deep@2"]], // 200 awaits do not fit in 8 turns: it runs late
  ] as const) {
    const s = new SimScheduler(options);
    const log: string[] = [];
    const done = deep(s, 200, log);
    s.setTimer(2, () => log.push(`next@${s.now()}`));
    await s.settle();
    await done;
    assert.deepEqual(log, expected);
  }
});

test("async handlers on the network: a request/response round trip settles at virtual times", async () => {
  const { SimNetwork } = await import("@capbus/sim");
  const net = new SimNetwork({ seed: 1, latency: { min: 5, max: 5 } });
  const [client, server] = net.link("client", "server");
  const sleep = (ms: number) => new Promise<void>((r) => net.scheduler.setTimer(ms, r));
  server.attach({
    frame: async (bytes) => {
      await sleep(3); // "processing"
      await Promise.resolve();
      server.send(Uint8Array.of(bytes[0]! + 1));
    },
    closed() {},
  });
  const replies: string[] = [];
  client.attach({ frame: (b) => replies.push(`${b[0]}@${net.now()}`), closed() {} });
  client.send(Uint8Array.of(41));
  const r = await net.scheduler.run({ until: () => replies.length > 0 });
  assert.equal(r.reason, "until");
  assert.deepEqual(replies, ["42@13"]);
});
