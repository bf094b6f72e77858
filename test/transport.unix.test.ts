/** The transport conformance suite over Unix domain sockets, plus framing checks of their own. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type LinkClosedInfo, systemRuntime } from "@capbus/core";
import { StreamLink } from "@capbus/transport-unix";
import { type Harness, type LinkPair, transportConformance } from "./transport-conformance.js";
import { until } from "./transport-real.js";

interface Sockets {
  readonly server: Server;
  readonly path: string;
  connect(): Promise<[Socket, Socket]>;
  close(): Promise<void>;
}

async function sockets(): Promise<Sockets> {
  const dir = mkdtempSync(join(tmpdir(), "capbus-unix-"));
  const path = join(dir, "s.sock");
  const accepted: Socket[] = [];
  const waiting: Array<(s: Socket) => void> = [];
  const all = new Set<Socket>();
  const server = createServer((socket) => {
    all.add(socket);
    const w = waiting.shift();
    if (w) w(socket);
    else accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    server,
    path,
    async connect() {
      const serverSide = new Promise<Socket>((resolve) => {
        const s = accepted.shift();
        if (s) resolve(s);
        else waiting.push(resolve);
      });
      const client = createConnection({ path });
      all.add(client);
      await new Promise<void>((resolve) => client.once("connect", () => resolve()));
      return [client, await serverSide];
    },
    async close() {
      for (const s of all) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

transportConformance("unix", async (): Promise<Harness> => {
  const s = await sockets();
  return {
    runtime: systemRuntime,
    async pair(): Promise<LinkPair> {
      return pairOf(await s.connect());
    },
    async limitedPair(maxFrameBytes: number): Promise<LinkPair> {
      return pairOf(await s.connect(), maxFrameBytes);
    },
    until,
    close: () => s.close(),
  };
});

function pairOf([client, server]: [Socket, Socket], maxFrameBytes?: number): LinkPair {
  return {
    a: new StreamLink(client),
    b: new StreamLink(server, maxFrameBytes === undefined ? {} : { maxFrameBytes }),
    cut: () => {
      client.destroy();
      server.destroy();
    },
    stall: () => server.pause(),
    unstall: () => server.resume(),
  };
}

test("unix: an announced length above maxFrameBytes closes with E_TOO_LARGE before reading it", async () => {
  const s = await sockets();
  try {
    const [client, server] = await s.connect();
    const link = new StreamLink(server, { maxFrameBytes: 1024 });
    const closes: LinkClosedInfo[] = [];
    link.attach({ frame: () => assert.fail("no frame"), closed: (info) => closes.push(info) });
    client.write(Buffer.from([0, 0, 4, 1]));
    await until(() => closes.length === 1, "the close");
    assert.equal(closes[0]?.code, "E_TOO_LARGE");
  } finally {
    await s.close();
  }
});

test("unix: heartbeats keep an idle link alive; silence kills it with E_LINK_DEAD", async () => {
  const s = await sockets();
  try {
    const [client, server] = await s.connect();
    const opts = { heartbeatMs: 20, deadAfterMs: 100 };
    const a = new StreamLink(client, opts);
    const b = new StreamLink(server, opts);
    const closes: LinkClosedInfo[] = [];
    const dead = () => closes.some((c) => c.code === "E_LINK_DEAD");
    a.attach({ frame: () => undefined, closed: (info) => closes.push(info) });
    b.attach({ frame: () => undefined, closed: (info) => closes.push(info) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(closes, [], "idle but alive");
    server.pause(); // b stops reading: a hears nothing back... and b hears nothing either
    client.pause();
    await until(dead, "a dead link", 2000);
  } finally {
    await s.close();
  }
});

test("unix: a burst that does not end its tick writes once it fills a write, not at the tick's end", async () => {
  const s = await sockets();
  try {
    const [client, server] = await s.connect();
    const link = new StreamLink(client);
    const got: Uint8Array[] = [];
    new StreamLink(server).attach({ frame: (f) => got.push(f), closed: () => undefined });
    // 40 frames of 1 KiB in one synchronous burst: what is corked past EAGER_WRITE_BYTES goes to
    // the kernel now (the socket's buffer empties), the rest at the end of the tick.
    for (let i = 0; i < 40; i++) link.send(new Uint8Array(1024).fill(i));
    assert.ok(link.bufferedBytes < 16 * 1024, `${link.bufferedBytes} bytes still held in the burst`);
    await until(() => got.length === 40, "the frames");
    assert.deepEqual(
      got.map((f) => f[0]),
      Array.from({ length: 40 }, (_, i) => i),
    );
  } finally {
    await s.close();
  }
});
