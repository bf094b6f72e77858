/**
 * The conformance suite every transport passes (spec/transports.md §8): raw links (order, large
 * frames, stalled readers, close), then peers over the transport (garbage, resume without loss
 * or duplicates, backpressure, late resume). A transport supplies link pairs and a way to drive
 * time; `test/transport.*.test.ts` run it over the simulated network, Unix sockets and ws, and
 * test/browser/transport-conformance.browser.test.ts over the browser link in Chromium. It
 * returns a tally of what ran, so a run in which nothing applied can be made to fail.
 */
import assert from "node:assert/strict";
import { after, before, describe, test as nodeTest } from "node:test";
import {
  CapbusError,
  type Link,
  type LinkClosedInfo,
  type LinkHandler,
  Peer,
  type Runtime,
  type SendResult,
} from "@capbus/core";
import { FrameCodec } from "@capbus/wire";

export interface LinkPair {
  readonly a: Link;
  readonly b: Link;
  /** Break the connection under both ends, as a network failure would. */
  cut(): void;
  /** Stop reading at b's end (its kernel buffers fill, a's writes back up), and start again. */
  stall(): void;
  unstall(): void;
}

export interface Harness {
  /** A fresh connected pair: `a` dialled, `b` accepted. */
  pair(): Promise<LinkPair>;
  /** A pair whose `b` end takes frames of at most `maxFrameBytes` (transports with a frame limit). */
  limitedPair?(maxFrameBytes: number): Promise<LinkPair>;
  /** Drive time (real or simulated) until `done()`; fails naming `what` after `ms`. */
  until(done: () => boolean, what: string, ms?: number): Promise<void>;
  readonly runtime: Runtime;
  close(): Promise<void>;
}

/** Records what a link hands its handler. */
class Recorder implements LinkHandler {
  readonly frames: Uint8Array[] = [];
  readonly closes: LinkClosedInfo[] = [];
  framesAfterClose = 0;
  frame(bytes: Uint8Array): void {
    if (this.closes.length > 0) this.framesAfterClose++;
    this.frames.push(bytes.slice());
  }
  closed(info: LinkClosedInfo): void {
    this.closes.push(info);
  }
}

/** Frame i: 4 bytes of i, then filler of a size that varies with i. */
function numbered(i: number, size = 4 + (i % 97)): Uint8Array {
  const bytes = new Uint8Array(size).fill(i & 0xff);
  new DataView(bytes.buffer).setUint32(0, i);
  return bytes;
}
const numberOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);

/** Two peers, B owning a node A holds a handle to, over `pair`. */
function peers(
  h: Harness,
  pair: LinkPair,
  session: { graceMs: number; maxUnackedBytes?: number; maxBufferedBytes?: number },
) {
  const a = new Peer({ id: "A", runtime: h.runtime });
  const b = new Peer({ id: "B", runtime: h.runtime });
  a.connect(pair.a, "B", session);
  b.connect(pair.b, undefined, session);
  const node = b.createNode();
  const handle = a.importHandle(b.grant(node, "A"));
  const got: unknown[] = [];
  /** Reads B's deliveries into `got`; returns how many there are. */
  const drain = () => {
    for (let e = b.poll(); e !== undefined; e = b.poll()) if (e.kind === "message") got.push(e.payload);
    return got.length;
  };
  return { a, b, handle, got, drain };
}

/** What a run of the suite did, check by check: a caller asserts on it so an empty run fails. */
export interface ConformanceTally {
  /** Every check the suite defines. */
  readonly checks: string[];
  /** The checks that ran to their end (passed). */
  readonly passed: string[];
  /** The checks that could not apply to the transport, and why. */
  readonly skipped: Array<{ readonly check: string; readonly reason: string }>;
}

export function transportConformance(name: string, make: () => Promise<Harness>): ConformanceTally {
  const tally: ConformanceTally = { checks: [], passed: [], skipped: [] };
  /** A check; one that returns a string could not apply, and is skipped with that reason. */
  const test = (check: string, body: () => Promise<unknown>) => {
    tally.checks.push(check);
    nodeTest(check, async (t) => {
      const skip = await body();
      if (typeof skip === "string") {
        tally.skipped.push({ check, reason: skip });
        t.skip(skip);
      } else tally.passed.push(check);
    });
  };
  describe(`${name}: transport conformance`, () => {
    let h: Harness;
    before(async () => {
      h = await make();
    });
    after(() => h.close());

    test("frames arrive whole, once and in order, in both directions", async () => {
      const p = await h.pair();
      const ra = new Recorder();
      const rb = new Recorder();
      p.a.attach(ra);
      p.b.attach(rb);
      for (let i = 0; i < 500; i++) {
        p.a.send(numbered(i));
        p.b.send(numbered(i));
      }
      await h.until(() => ra.frames.length === 500 && rb.frames.length === 500, "500 frames each way");
      for (const r of [ra, rb]) {
        assert.deepEqual(
          r.frames.map(numberOf),
          Array.from({ length: 500 }, (_, i) => i),
        );
        for (const [i, f] of r.frames.entries()) assert.deepEqual(f, numbered(i));
      }
      p.a.close("OK", "done");
    });

    test("a 4 MiB frame arrives intact between small ones", async () => {
      const p = await h.pair();
      const rb = new Recorder();
      p.a.attach(new Recorder());
      p.b.attach(rb);
      const big = numbered(7, 4 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff;
      p.a.send(numbered(1));
      p.a.send(big);
      p.a.send(numbered(2));
      await h.until(() => rb.frames.length === 3, "three frames");
      assert.deepEqual(rb.frames[1], big);
      assert.deepEqual(rb.frames.map(numberOf), [1, numberOf(big), 2]);
      p.a.close("OK", "done");
    });

    test("a stalled reader loses nothing and keeps the order", async () => {
      const p = await h.pair();
      const rb = new Recorder();
      p.a.attach(new Recorder());
      p.b.attach(rb);
      p.stall();
      for (let i = 0; i < 64; i++) p.a.send(numbered(i, 256 * 1024)); // 16 MiB
      await h.until(() => false, "nothing (stalled)", 50).catch(() => undefined);
      assert.ok(rb.frames.length < 64, "the stall held frames back");
      p.unstall();
      await h.until(() => rb.frames.length === 64, "64 frames after the stall", 20_000);
      assert.deepEqual(
        rb.frames.map(numberOf),
        Array.from({ length: 64 }, (_, i) => i),
      );
      p.a.close("OK", "done");
    });

    test("close reaches both ends once, and nothing follows it", async () => {
      const p = await h.pair();
      const ra = new Recorder();
      const rb = new Recorder();
      p.a.attach(ra);
      p.b.attach(rb);
      p.a.send(numbered(1));
      await h.until(() => rb.frames.length === 1, "one frame");
      p.a.close("E_TEST", "test over");
      p.a.send(numbered(2)); // ignored, does not throw
      await h.until(() => ra.closes.length === 1 && rb.closes.length === 1, "both ends closed");
      assert.deepEqual(ra.closes, [{ code: "E_TEST", reason: "test over", byRemote: false }]);
      assert.equal(rb.closes[0]?.byRemote, true);
      p.b.send(numbered(3));
      p.b.close("OK", "again");
      await h.until(() => false, "settling", 30).catch(() => undefined);
      assert.equal(ra.closes.length + rb.closes.length, 2, "closed is reported once per end");
      assert.equal(ra.framesAfterClose + rb.framesAfterClose, 0);
    });

    test("garbage makes the peer close the link with a wire code; the sender sees the close", async () => {
      const p = await h.pair();
      const ra = new Recorder();
      p.a.attach(ra);
      const peer = new Peer({ id: "P", runtime: h.runtime });
      peer.connect(p.b);
      p.a.send(new Uint8Array([0x9f, 0xff, 0x00, 0x13]));
      await h.until(() => ra.closes.length === 1, "the link closed");
      const close = ra.frames.map((f) => new FrameCodec().decode(f)).find((f) => f.type === "close");
      assert.equal(close?.type === "close" && close.code, "E_CBOR");
      assert.deepEqual(peer.linkedPeers, []);
      peer.abort();
    });

    test("a frame above the receiver's maxFrameBytes is refused with a close frame: the session ends at both ends", async () => {
      if (!h.limitedPair) return "no frame limit on this transport";
      const p = await h.limitedPair(8 * 1024);
      // A grace period: a break would leave both sessions waiting to resume (and resend the frame).
      const { a, b, handle } = peers(h, p, { graceMs: 60_000 });
      await h.until(() => a.stats().links.B?.live === true && b.linkedPeers.includes("A"), "linked");
      let result: SendResult | undefined;
      void a.send(handle, new Uint8Array(16 * 1024)).then((r) => {
        result = r;
      });
      // Well within the grace period: the session ended, it was not left to expire.
      await h.until(() => result !== undefined, "the send's result", 5000);
      assert.equal(result?.destinations[0]?.code, "E_LINK_CLOSED");
      await h.until(() => a.linkedPeers.length === 0 && b.linkedPeers.length === 0, "both sessions over");
      a.abort();
      b.abort();
    });

    test("a session resumes on a new link after cuts: nothing lost, nothing twice (P6)", async () => {
      const first = await h.pair();
      const { a, b, handle, got, drain } = peers(h, first, { graceMs: 10_000 });
      const sent: number[] = [];
      const results: Promise<{ ok: boolean }>[] = [];
      const send = (n: number) => {
        for (let i = 0; i < n; i++) {
          sent.push(sent.length);
          results.push(a.send(handle, sent.length - 1));
        }
      };
      let pair = first;
      for (let round = 0; round < 3; round++) {
        send(40);
        await h.until(() => drain() >= sent.length - 30, `deliveries before cut ${round}`);
        pair.cut();
        send(20); // while the link is down: queued in the session
        pair = await h.pair();
        a.connect(pair.a, "B");
        b.connect(pair.b);
      }
      await h.until(() => drain() >= sent.length, "every message delivered", 20_000);
      await h.until(() => false, "settling", 50).catch(() => undefined);
      drain();
      assert.deepEqual(got, sent);
      assert.ok((await Promise.all(results)).every((r) => r.ok));
      a.abort();
      b.abort();
    });

    test("a window that stays full queues, then refuses new messages with E_BACKPRESSURE; the session goes on", async () => {
      const p = await h.pair();
      const window = { maxUnackedBytes: 256 * 1024, maxBufferedBytes: 256 * 1024 };
      const { a, b, handle, got, drain } = peers(h, p, { graceMs: 0, ...window });
      await h.until(() => a.stats().links.B?.live === true && b.linkedPeers.includes("A"), "linked");
      p.stall();
      const pad = new Uint8Array(8 * 1024);
      // Far beyond the window, the send queue and the sockets' own buffers.
      const outcomes: Array<number | string> = [];
      let settled = 0;
      for (let i = 0; i < 1000; i++) {
        a.send(handle, { i, pad }).then(
          (r) => {
            outcomes[i] = r.ok ? i : -1;
            settled++;
          },
          (e: unknown) => {
            outcomes[i] = e instanceof CapbusError ? e.code : String(e);
            settled++;
          },
        );
      }
      await h.until(() => (a.stats().links.B?.bufferedBytes ?? 0) > 0, "frames wait in the send queue");
      p.unstall();
      await h.until(() => settled === 1000, "every send settled", 20_000);
      const admitted = outcomes.filter((o): o is number => typeof o === "number");
      assert.ok(admitted.length >= 32, `the window and the queue took ${admitted.length}`);
      assert.ok(admitted.length < 1000, "the queue is bounded");
      assert.deepEqual(new Set(outcomes.filter((o) => typeof o !== "number")), new Set(["E_BACKPRESSURE"]));
      await h.until(() => drain() >= admitted.length, "every admitted message delivered", 20_000);
      assert.deepEqual(
        got.map((m) => (m as { i: number }).i),
        admitted,
        "exactly the admitted ones, in order",
      );
      assert.ok(a.linkedPeers.includes("B") && b.linkedPeers.includes("A"), "nobody dropped anybody");
      a.abort();
      b.abort();
    });

    test("a resume after the remote's grace period is refused with E_SESSION_EXPIRED, finally", async () => {
      const first = await h.pair();
      const a = new Peer({ id: "A", runtime: h.runtime });
      const b = new Peer({ id: "B", runtime: h.runtime });
      a.connect(first.a, "B", { graceMs: 60_000 });
      b.connect(first.b, undefined, { graceMs: 100 });
      await h.until(() => a.linkedPeers.includes("B") && b.linkedPeers.includes("A"), "linked");
      const node = b.createNode();
      const handle = a.importHandle(b.grant(node, "A"));
      assert.equal((await settleWith(h, a.send(handle, "before"))).ok, true);
      first.cut();
      await h.until(() => !b.linkedPeers.includes("A"), "B expired the session");
      assert.ok(a.linkedPeers.includes("B"), "A still waits for a resume");
      const late = await h.pair();
      const seen = watch(late.a);
      a.connect(seen.link, "B");
      b.connect(late.b);
      await h.until(() => !a.linkedPeers.includes("B"), "A learned the session expired");
      await h.until(() => seen.closes.length > 0, "the late link closed");
      assert.equal(seen.codes().includes("E_SESSION_EXPIRED"), true);
      a.abort();
      b.abort();
    });
  });
  return tally;
}

async function settleWith<T>(h: Harness, promise: Promise<T>): Promise<T> {
  let value: T | undefined;
  let done = false;
  void promise.then((v) => {
    value = v;
    done = true;
  });
  await h.until(() => done, "a send to settle");
  return value as T;
}

/** Wrap a link to see the frames a peer receives on it and how it closes. */
function watch(link: Link) {
  const codec = new FrameCodec();
  const received: Uint8Array[] = [];
  const closes: LinkClosedInfo[] = [];
  const wrapped: Link = {
    send: (frame) => link.send(frame),
    close: (code, reason) => link.close(code, reason),
    attach: (handler) =>
      link.attach({
        frame: (bytes) => {
          received.push(bytes.slice());
          handler.frame(bytes);
        },
        closed: (info) => {
          closes.push(info);
          handler.closed(info);
        },
      }),
  };
  const codes = () => [
    ...closes.map((c) => c.code),
    ...received.flatMap((b) => {
      const r = codec.decodeFrame(b);
      return r.ok && r.frame.type === "close" ? [r.frame.code] : [];
    }),
  ];
  return { link: wrapped, closes, codes };
}
