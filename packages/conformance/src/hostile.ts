/**
 * The hostile group (spec/transports.md §3.5, spec/wire.md §2, spec/wire.md §8): what a stranger or a holder may
 * send to make a peer spend, each refused quickly with its code. The inputs are kept small
 * enough to be quick: the point is the refusal, not a load test.
 */
import { CheckFailure, Remote } from "./remote.js";
import type { Context } from "./run.js";

/** A CBOR head: major type `major`, argument `n` (preferred serialization). */
function head(major: number, n: number): Buffer {
  const m = major << 5;
  if (n < 24) return Buffer.of(m | n);
  if (n < 0x100) return Buffer.of(m | 24, n);
  if (n < 0x10000) return Buffer.of(m | 25, n >> 8, n & 0xff);
  const b = Buffer.alloc(5);
  b[0] = m | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

const uint = (n: number) => head(0, n);
const text = (s: string) => Buffer.concat([head(3, Buffer.byteLength(s)), Buffer.from(s)]);

/** A `unicast` frame with a payload given as raw CBOR (the encoder would refuse these). */
function unicast(seq: number, event: number, clock: number, node: number, payload: Buffer): Buffer {
  const big = (n: number) => {
    const b = Buffer.alloc(9);
    b[0] = 0x1b;
    b.writeBigUInt64BE(BigInt(n), 1);
    return b;
  };
  return Buffer.concat([
    Buffer.of(0x87),
    uint(5),
    uint(seq),
    uint(0),
    uint(event),
    big(clock),
    uint(node),
    payload,
  ]);
}

export async function hostile(ctx: Context): Promise<void> {
  const quick = ctx.target.answerMs;
  const timed = async (what: string, act: () => Promise<void>) => {
    const at = Date.now();
    await act();
    if (Date.now() - at > quick) throw new CheckFailure(`${what} took ${Date.now() - at} ms`);
  };

  await ctx.check(
    "a 5000-byte frame before the hello: E_TOO_LARGE, undecoded (close frame or, on a stream, the end)",
    async () => {
      const remote = await Remote.create(ctx.target);
      try {
        await remote.open();
        remote.conn.send(new Uint8Array(5000).fill(0x9f));
        await remote.expectClose("E_TOO_LARGE", ctx.target.endpoint.startsWith("unix:"));
      } finally {
        remote.end();
      }
    },
  );

  await ctx.check("a stream length prefix above 4096 before the hello: the connection ends", async () => {
    if (!ctx.target.endpoint.startsWith("unix:")) return "stream sockets only";
    const remote = await Remote.create(ctx.target);
    try {
      await remote.open();
      remote.conn.sendRaw(Uint8Array.of(0x7f, 0xff, 0xff, 0xff)); // ~2 GiB announced, nothing follows
      await remote.expectClose("E_TOO_LARGE", true);
    } finally {
      remote.end();
    }
  });

  const afterHandshake: ReadonlyArray<readonly [string, string, (remote: Remote) => Buffer]> = [
    [
      "a payload nested 10000 deep (maxDepth 64): E_TOO_LARGE",
      "E_TOO_LARGE",
      (remote) => withPayload(remote, Buffer.concat([Buffer.alloc(10_000, 0x81), Buffer.of(0xf6)])),
    ],
    [
      "a map of 50000 keys whose last key repeats the first: E_CBOR",
      "E_CBOR",
      (remote) => {
        const n = 50_000;
        const parts: Buffer[] = [head(5, n)];
        for (let i = 0; i < n - 1; i++) parts.push(text(`k${i}`), uint(0));
        parts.push(text("k0"), uint(0));
        return withPayload(remote, Buffer.concat(parts));
      },
    ],
    [
      "50000 maps of one repeated key (a key-set flood): E_CBOR at the first repeat",
      "E_CBOR",
      (remote) => {
        const n = 50_000;
        const parts: Buffer[] = [head(4, n)];
        for (let i = 0; i < n; i++)
          parts.push(
            i === n - 1
              ? Buffer.concat([head(5, 2), text("a"), uint(0), text("a"), uint(1)])
              : Buffer.concat([head(5, 1), text("a"), uint(0)]),
          );
        return withPayload(remote, Buffer.concat(parts));
      },
    ],
  ];
  for (const [what, code, build] of afterHandshake) {
    await ctx.check(what, async () => {
      const remote = await Remote.create(ctx.target);
      try {
        await remote.holding();
        await timed(what, async () => {
          remote.conn.send(build(remote));
          await remote.expectClose(code);
        });
      } finally {
        remote.end();
      }
    });
  }
}

/** The played peer's next unicast (seq 2: after its claim) to the test node, with `payload`. */
function withPayload(remote: Remote, payload: Buffer): Buffer {
  return unicast(2, remote.nextEvent(), remote.clock(), remote.node, payload);
}
