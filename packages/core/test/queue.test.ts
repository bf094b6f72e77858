import assert from "node:assert/strict";
import { test } from "node:test";
import { IncomingQueue } from "../src/queue.js";

test("a staged entry with a lower proposal holds back a committed one", () => {
  const q = new IncomingQueue<string>();
  const staged = q.insert("A", 1, 5, false, "a1");
  q.insert("B", 1, 7, true, "b1");
  assert.equal(q.takeReady(), undefined);
  q.commit(staged, 9);
  assert.equal(q.takeReady()?.data, "b1");
  assert.equal(q.takeReady()?.data, "a1");
  assert.equal(q.size, 0);
});

test("the tie-break orders equal lamport values by peer id, then seq", () => {
  const q = new IncomingQueue<string>();
  q.insert("B", 1, 4, true, "b1");
  q.insert("A", 2, 4, true, "a2");
  q.insert("A", 1, 4, true, "a1");
  assert.deepEqual([q.takeReady()?.data, q.takeReady()?.data, q.takeReady()?.data], ["a1", "a2", "b1"]);
});

test("a staged entry whose proposal is above every committed one does not block them", () => {
  const q = new IncomingQueue<string>();
  q.insert("A", 1, 10, false, "late");
  q.insert("B", 1, 3, true, "early");
  assert.equal(q.takeReady()?.data, "early");
  assert.equal(q.takeReady(), undefined);
});

test("removing a staged entry unblocks the queue", () => {
  const q = new IncomingQueue<string>();
  const staged = q.insert("A", 1, 1, false, "gone");
  q.insert("B", 1, 2, true, "b1");
  assert.equal(q.takeReady(), undefined);
  assert.deepEqual(
    q.staged("A").map((e) => e.data),
    ["gone"],
  );
  q.remove(staged);
  assert.equal(q.get("A", 1), undefined);
  assert.equal(q.takeReady()?.data, "b1");
});

test("random inserts, commits and removals: the queue delivers as a sorted reference says", () => {
  // The heap keeps the entries themselves and moves one in place on commit or removal (issue 19).
  type Ref = { sender: string; seq: number; lamport: number; committed: boolean };
  const less = (a: Ref, b: Ref) =>
    a.lamport !== b.lamport
      ? a.lamport < b.lamport
      : a.sender !== b.sender
        ? a.sender < b.sender
        : a.seq < b.seq;
  let seed = 7;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < 200; round++) {
    const q = new IncomingQueue<Ref>();
    const held: Ref[] = [];
    let seq = 0;
    for (let step = 0; step < 60; step++) {
      const op = random(10);
      const staged = held.filter((r) => !r.committed);
      if (op < 5 || held.length === 0) {
        const ref = {
          sender: "ABC"[random(3)] as string,
          seq: ++seq,
          lamport: random(40),
          committed: random(2) === 0,
        };
        held.push(ref);
        q.insert(ref.sender, ref.seq, ref.lamport, ref.committed, ref);
      } else if (op < 7 && staged.length > 0) {
        const ref = staged[random(staged.length)] as Ref;
        ref.lamport += random(20);
        ref.committed = true;
        q.commit(q.get(ref.sender, ref.seq) as never, ref.lamport);
      } else if (op < 8) {
        const ref = held.splice(random(held.length), 1)[0] as Ref;
        q.remove(q.get(ref.sender, ref.seq) as never);
      } else {
        // The reference: the lowest entry, if committed, goes.
        const head = held.reduce<Ref | undefined>(
          (m, r) => (m === undefined || less(r, m) ? r : m),
          undefined,
        );
        const taken = q.takeReady();
        if (head?.committed) {
          assert.equal(taken?.data, head);
          held.splice(held.indexOf(head), 1);
        } else assert.equal(taken, undefined);
      }
      assert.equal(q.size, held.length);
    }
  }
});
