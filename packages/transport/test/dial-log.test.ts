/** What a failed first dial logs: a network failure at debug, a bug in this process at error. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Peer } from "@capbus/core";
import { logDialFailure } from "@capbus/transport";

test("a failed dial logs a network error at debug and a TypeError (a bug) at error", () => {
  const lines: string[] = [];
  const peer = new Peer({
    id: "p",
    logger: {
      debug: (message) => lines.push(`debug ${message}`),
      error: (message) => lines.push(`error ${message}`),
    },
  });
  logDialFailure(peer, "q", ["ws://127.0.0.1:1"], new Error("connect ECONNREFUSED"));
  logDialFailure(peer, "q", ["ws://127.0.0.1:1"], new TypeError("Illegal invocation"));
  assert.deepEqual(lines, ["debug dial failed", "error dial failed: a bug, not the network"]);
});
