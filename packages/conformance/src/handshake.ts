/**
 * The handshake group (spec/transports.md §3): a good handshake, and each way of getting one
 * wrong, which the peer under test must refuse with a `close` frame carrying the code.
 */
import WebSocket from "ws";
import { Conn } from "./conn.js";
import { CheckFailure, Remote } from "./remote.js";
import type { Context } from "./run.js";

export async function handshake(ctx: Context): Promise<void> {
  const target = ctx.target;
  const done = (remote: Remote) => remote.end();

  await ctx.check(
    "ws subprotocol: capbus.v2 offered is chosen; only others offered, HTTP 400 (spec/transports.md §1.1)",
    async () => {
      if (target.endpoint.startsWith("unix:")) return "WebSocket only";
      (await Conn.open(target.endpoint)).destroy(); // its opening checks the choice
      const status = await upgradeStatus(target.endpoint, "chat");
      if (status !== 400) throw new CheckFailure(`an upgrade offering only "chat": ${status}, expected 400`);
    },
  );

  await ctx.check(
    "a keyed hello and auth: the peer answers hello (and auth), then grants a claim",
    async () => {
      const remote = await Remote.create(target);
      try {
        const theirs = await remote.handshake();
        if (!theirs.versions.includes(2))
          throw new CheckFailure(`its hello offers ${theirs.versions}, not 2`);
        if (theirs.nonce.length !== 16) throw new CheckFailure("its nonce is not 16 bytes");
        if (theirs.session.length !== 0) throw new CheckFailure("its hello names a session it cannot hold");
        await remote.claim();
      } finally {
        done(remote);
      }
    },
  );

  await ctx.check(
    `an unkeyed hello: ${target.keyed ? "refused (E_AUTH), the peer is keyed" : "accepted"}`,
    async () => {
      const remote = await Remote.create(target, `kit-unkeyed-${Date.now()}`);
      try {
        if (!target.keyed) return void (await remote.holding());
        await remote.handshake().catch(unlessFailure);
        await remote.expectClose("E_AUTH");
      } finally {
        done(remote);
      }
    },
  );

  const refusals: ReadonlyArray<readonly [string, string, (remote: Remote) => Promise<unknown>]> = [
    [
      "a frame before the hello",
      "E_PROTOCOL",
      async (remote) => {
        await remote.open();
        remote.send({ type: "ack" });
      },
    ],
    [
      "a hello with no version in common ([1])",
      "E_VERSION",
      async (remote) => {
        await remote.open();
        // [0,0,0,[1],id,h'',h'00'*16,h''] by hand: the reference encoder refuses to write it.
        const id = Buffer.from(remote.id);
        const head = id.length < 24 ? Buffer.of(0x60 + id.length) : Buffer.of(0x78, id.length);
        remote.conn.send(
          Buffer.concat([
            Buffer.of(0x88, 0, 0, 0, 0x81, 0x01),
            head,
            id,
            Buffer.of(0x40, 0x50),
            Buffer.alloc(16),
            Buffer.of(0x40),
          ]),
        );
      },
    ],
    [
      "an auth whose signature does not verify",
      "E_AUTH",
      (remote) => remote.handshake({ sig: new Uint8Array(64) }),
    ],
    [
      "a hello naming an id that is not its key's (wrong peer)",
      "E_AUTH",
      (remote) => remote.handshake({ hello: { peer: `not-${remote.id.slice(4)}` } }),
    ],
    [
      "a resume of a session the peer never held",
      "E_SESSION_EXPIRED",
      (remote) => remote.handshake({ session: crypto.getRandomValues(new Uint8Array(32)), ack: 0 }),
    ],
    [
      "a hello whose time is 60 s ahead of the peer's clock",
      "E_CLOCK_SKEW",
      (remote) => remote.handshake({ hello: { time: Date.now() + 60_000 } }),
    ],
  ];
  for (const [what, code, act] of refusals) {
    await ctx.check(`${what}: close ${code}`, async () => {
      const remote = await Remote.create(target);
      try {
        // The peer may refuse before its own hello or auth: what it sent instead is read below.
        await act(remote).catch(unlessFailure);
        await remote.expectClose(code);
      } finally {
        done(remote);
      }
    });
  }
}

/** A CheckFailure of a handshake step is read again by the next expectation; others propagate. */
function unlessFailure(error: unknown): void {
  if (!(error instanceof CheckFailure)) throw error;
}

/** The HTTP status an upgrade offering only `protocol` gets (101 when it is accepted). */
function upgradeStatus(url: string, protocol: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol, { handshakeTimeout: 5000 });
    ws.once("upgrade", () => resolve(101));
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => ws.terminate());
    ws.on("error", (error) => reject(error));
  });
}
