/**
 * Messages/s and latency of one unicast stream between two processes, over ws and over a Unix
 * socket. The parent sends; a child process receives. Prints a table; no assertions.
 *   node --conditions=@capbus/source --import tsx scripts/bench-transports.ts [count]
 * Throughput: `count` messages, 256 undecided at a time, until the last is decided (accepted).
 * Latency: 2000 sends one at a time, each from `send` to its decision (one round trip).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Identity, Peer } from "@capbus/core";
import { dialUnix, listenUnix } from "@capbus/transport-unix";
import { dialWs, listenWs } from "@capbus/transport-ws";

const [mode, where] = process.argv.slice(2);

if (mode === "--child") {
  // Receiver: listen, print the address and id, grant to the id read from stdin, drain forever.
  const peer = new Peer({ identity: await Identity.generate() });
  const node = peer.createNode();
  const address =
    where === "ws"
      ? (await listenWs(peer)).url
      : (await listenUnix(peer, join(process.argv[4]!, "b.sock"))).address;
  process.stdout.write(`${JSON.stringify({ id: peer.id, address })}\n`);
  createInterface({ input: process.stdin }).once("line", (sender) => {
    peer.grant(node, sender.trim());
    process.stdout.write("granted\n");
  });
  for await (const _ of peer) {
    // delivered; nothing to do
  }
} else {
  const count = Number(mode ?? 100_000);
  const rows: string[] = [];
  for (const transport of ["unix", "ws"] as const) rows.push(await bench(transport, count));
  console.log(`transport  messages/s  p50 ms  p99 ms   (count ${count}, payload {i, text: 32 chars})`);
  for (const row of rows) console.log(row);
}

async function bench(transport: "unix" | "ws", count: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "capbus-bench-"));
  const child = spawn(
    process.execPath,
    ["--conditions=@capbus/source", "--import", "tsx", import.meta.filename, "--child", transport, dir],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const { id, address } = JSON.parse((await lines.next()).value as string) as {
      id: string;
      address: string;
    };
    const peer = new Peer({ identity: await Identity.generate() });
    child.stdin.write(`${peer.id}\n`);
    await lines.next(); // granted
    const dialer = transport === "ws" ? dialWs(peer, address, id) : dialUnix(peer, address, id);
    await dialer.ready;
    const handle = peer.importHandle({ owner: id, node: 1, holder: peer.id });
    const text = "x".repeat(32);
    for (let i = 0; i < 2000; i++) await peer.send(handle, { i, text }); // warm up

    const window: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      window.push(peer.send(handle, { i, text }));
      if (window.length >= 256) await window.shift();
    }
    await Promise.all(window);
    const rate = count / ((performance.now() - start) / 1000);

    const latencies: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await peer.send(handle, { i, text });
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(3);
    dialer.stop();
    peer.abort();
    return `${transport.padEnd(9)}  ${Math.round(rate).toString().padStart(10)}  ${at(0.5).padStart(6)}  ${at(0.99).padStart(6)}`;
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}
