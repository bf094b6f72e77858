/**
 * The honest prober of the attack harness (scripts/attack.ts): a `startPeer` peer that imports
 * the victim's `probe` URL and, from `{ go }` to `{ stop }`, sends `rateHz` requests a second,
 * each `{ n, t }` (t: when sent). It records each request's round trip (the victim's reply back
 * here) or the code it failed with, and every session of its own that closed with a code.
 * With `newcomers`, it also starts a fresh peer (a new key) every `newcomerEveryMs` that imports
 * the URL and sends one request: can a peer the victim never saw still get in?
 * On `{ stop }` it answers `{ done: { probes, closes, newcomers } }`.
 */
import { CapbusError, type Logger, startPeer } from "@capbus/node";
import { childContext } from "@capbus/testkit/child";
import { type Profile, profileOptions } from "./profile.js";

interface Inputs {
  readonly url: string;
  readonly rateHz: number;
  readonly profile: Profile;
  readonly newcomers: boolean;
  readonly newcomerEveryMs: number;
}

/** One probe: number, sent at (ms since the epoch), round trip (ms) or null, failure code or null. */
export type ProbeRecord = [n: number, sentAt: number, rttMs: number | null, code: string | null];

/** A newcomer's attempt: when, whether it got a reply, how long it took, its failure code. */
export interface NewcomerRecord {
  readonly at: number;
  readonly ok: boolean;
  readonly ms: number;
  readonly code: string | null;
}

const ctx = childContext<Inputs>();
const { url, rateHz, profile, newcomers, newcomerEveryMs } = ctx.inputs;
const wallNow = () => performance.timeOrigin + performance.now();
const codeOf = (error: unknown) =>
  error instanceof CapbusError ? error.code : error === TIMEOUT ? "E_TIMEOUT" : String(error).slice(0, 80);
/** A newcomer that got no reply in time. */
const TIMEOUT = new Error("no reply within 5 s");

/** Sessions of this peer that ended with a code other than OK. */
const closes: Array<{ at: number; code: string; remote: string }> = [];
const logger: Logger = {
  warn: (message, fields) => {
    if (/session (closed|expired)/.test(message))
      closes.push({ at: wallNow(), code: String(fields?.code), remote: String(fields?.remote) });
  },
};

const started = await startPeer({ trace: undefined, logger, ...profileOptions(profile) });
const { peer } = started;
ctx.onStop(() => started.close());
const victim = await peer.import(url);
// One request before the run: the reply handle goes with it, later requests are plain unicasts.
await peer.request(victim, { n: 0, t: wallNow() });
ctx.ready({}, { peer: peer.id });

const probes = new Map<number, ProbeRecord>();
const newcomerRecords: NewcomerRecord[] = [];
const running = new Set<Promise<unknown>>();
const track = (p: Promise<unknown>) => {
  running.add(p);
  void p.finally(() => running.delete(p));
};

function probe(n: number): void {
  const sentAt = wallNow();
  const record: ProbeRecord = [n, sentAt, null, null];
  probes.set(n, record);
  track(
    peer.request(victim, { n, t: sentAt }).then(
      () => {
        record[2] = wallNow() - sentAt;
      },
      (error: unknown) => {
        record[3] = codeOf(error);
      },
    ),
  );
}

/** A peer the victim never saw: import, one request, close; within 5 s. */
async function newcomer(): Promise<void> {
  const at = wallNow();
  let fresh: Awaited<ReturnType<typeof startPeer>> | undefined;
  const attempt = (async () => {
    fresh = await startPeer({ trace: undefined, listen: [], ...profileOptions(profile) });
    const handle = await fresh.peer.import(url);
    await fresh.peer.request(handle, { newcomer: true });
  })();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(TIMEOUT), 5_000).unref());
  try {
    await Promise.race([attempt, timeout]);
    newcomerRecords.push({ at, ok: true, ms: wallNow() - at, code: null });
  } catch (error) {
    newcomerRecords.push({ at, ok: false, ms: wallNow() - at, code: codeOf(error) });
  } finally {
    attempt.catch(() => undefined);
    // A graceful close (it releases the handle), unless the victim does not let it finish.
    const closing = fresh?.close().catch(() => undefined);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    fresh?.peer.abort();
  }
}

await ctx.next("go");
let n = 0;
const probeTimer = setInterval(() => probe(++n), 1000 / rateHz);
const newcomerTimer = newcomers ? setInterval(() => track(newcomer()), newcomerEveryMs) : undefined;

await ctx.next("stop");
clearInterval(probeTimer);
clearInterval(newcomerTimer);
// Replies on their way get a moment; the rest stay unanswered (their age is their latency).
await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => setTimeout(resolve, 1_000))]);
ctx.tell({ done: { probes: [...probes.values()], closes, newcomers: newcomerRecords } });
