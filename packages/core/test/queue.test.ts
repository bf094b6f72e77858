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
