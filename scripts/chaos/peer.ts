/**
 * One chaos peer (scripts/chaos.ts): listens on a Unix socket behind the harness's proxy and
 * advertises the proxy's address, so every link to it crosses the proxy. Offers capability URLs
 * of its nodes; on { peers } imports the others' URLs, on { go } runs a seeded random workload
 * (unicast, multicast, causal reaction chains, handles passed on, destroy, release) until
 * { stop }, then waits for its sends to settle and tells { done: stats }.
 * When it holds few live handles (its links expired after a long pause, say) it imports one of
 * the URLs again, which starts a new session.
 * On { armKill: "commit" | "abort" } (--kill-at) it kills itself mid-way through its next multicast
 * commit (abort), writing a line to `killLog` first (kill-mid-round.ts).
 * Inputs: { back, front, seed, nodes, graceMs, deadAfterMs, stageTimeoutMs?, killLog }.
 */
import { CapbusError, type Handle, type Node, startPeer } from "@capbus/node";
import { Random } from "@capbus/sim";
import { childContext } from "@capbus/testkit/child";
import { listenUnix } from "@capbus/transport-unix";
import { type KillPhase, MidRoundKill } from "./kill-mid-round.js";

interface Inputs {
  readonly back: string;
  readonly front: string;
  readonly seed: number;
  readonly nodes: number;
  /** Grace period of every link, and the dead-link timeout (heartbeats at a quarter of it). */
  readonly graceMs: number;
  readonly deadAfterMs: number;
  /** The peer's stageTimeoutMs (default: startPeer's, derived from the two above). */
  readonly stageTimeoutMs?: number;
  /** Where a kill mid-round is logged (one JSON line). */
  readonly killLog: string;
}

interface Chain {
  readonly hops: number;
}

const ctx = childContext<Inputs>();
const { back, front, seed, nodes: nodeCount, stageTimeoutMs, graceMs, deadAfterMs, killLog } = ctx.inputs;
const random = new Random(seed >>> 0);
const liveness = { deadAfterMs, heartbeatMs: Math.max(100, deadAfterMs / 4) };
const linkSession = { graceMs };
const started = await startPeer({
  listen: [],
  liveness,
  linkSession,
  ...(stageTimeoutMs ? { stageTimeoutMs } : {}),
});
const { peer } = started;
// Before any link exists, so that it taps them all.
const killer = new MidRoundKill(peer, random.fork("kill"), killLog);
const listener = await listenUnix(peer, back, { ...liveness, session: linkSession });
peer.advertise(`unix:${front}`);
ctx.onStop(async () => {
  await started.close();
  await listener.close();
});

const stats = {
  ops: 0,
  unicast: 0,
  multicast: 0,
  withHandles: 0,
  thirdParty: 0,
  reaction: 0,
  destroy: 0,
  release: 0,
  reimport: 0,
  created: 0,
  sendOk: 0,
  sendPartial: 0,
  deliveries: { message: 0, destroyed: 0, released: 0 },
  refused: {} as Record<string, number>,
  destinationCodes: {} as Record<string, number>,
  unsettled: 0,
};

const own: Node[] = Array.from({ length: nodeCount }, () => peer.createNode());
const held = new Map<string, Handle>(own.map((n) => [n.name, n.handle]));
ctx.ready(Object.fromEntries(own.map((n, i) => [`n${i}`, peer.export(n)])), { peer: peer.id });

let running = false;
const work = new Set<Promise<unknown>>();
const track = (p: Promise<unknown>) => {
  work.add(p);
  void p.finally(() => work.delete(p));
};
const count = (table: Record<string, number>, key: string) => {
  table[key] = (table[key] ?? 0) + 1;
};
const refuse = (error: unknown) => {
  count(stats.refused, error instanceof CapbusError ? error.code : String(error));
};
const live = (): Handle[] => [...held.values()].filter((h) => h.state === "live");

const MAX_IN_FLIGHT = 32;

function send(chain: Chain, reaction: boolean): void {
  const usable = live();
  if (usable.length === 0 || work.size >= MAX_IN_FLIGHT) return;
  const n = usable.length === 1 || random.chance(0.5) ? 1 : random.int(2, Math.min(5, usable.length));
  const targets = new Map<string, Handle>();
  while (targets.size < n) {
    const h = random.pick(usable);
    targets.set(h.name, h);
  }
  const carry = random.chance(0.3) ? [random.pick(usable)] : [];
  stats.ops++;
  if (reaction) stats.reaction++;
  if (targets.size === 1) stats.unicast++;
  else stats.multicast++;
  if (carry.length > 0) stats.withHandles++;
  const owners = new Set([peer.id, ...[...targets.values()].map((h) => h.owner)]);
  for (const h of carry) if (!owners.has(h.owner)) stats.thirdParty++;
  track(
    peer.send([...targets.values()], chain, { handles: carry }).then((result) => {
      if (result.ok) stats.sendOk++;
      else stats.sendPartial++;
      for (const d of result.destinations) if (d.code) count(stats.destinationCodes, d.code);
    }, refuse),
  );
}

function destroy(): void {
  const alive = own.filter((n) => held.get(n.name)?.state === "live");
  if (alive.length === 0) return;
  const node = random.pick(alive);
  stats.ops++;
  stats.destroy++;
  held.delete(node.name);
  track(peer.destroy(node).then(() => undefined, refuse));
  // Keep the workload going: a fresh node, spread by handle passing.
  const fresh = peer.createNode();
  own.push(fresh);
  held.set(fresh.name, fresh.handle);
  stats.created++;
}

function release(): void {
  const others = live().filter((h) => h.owner !== peer.id);
  if (others.length === 0) return;
  const handle = random.pick(others);
  stats.ops++;
  stats.release++;
  try {
    handle.release();
  } catch (error) {
    refuse(error);
  }
  if (handle.state !== "live") held.delete(handle.name);
}

void (async () => {
  for await (const event of peer) {
    stats.deliveries[event.kind]++;
    if (event.kind === "destroyed") held.delete(event.handle.name);
    if (event.kind !== "message") continue;
    for (const h of event.handles) held.set(h.name, h);
    const chain = event.payload as Chain;
    if (running && chain.hops > 0) send({ hops: chain.hops - 1 }, true);
  }
})();

/**
 * Armed to die mid-round: multicast to two or more other owners every 20-60 ms until it does (an
 * abort needs a round staged and not yet decided: its signal fires 0-3 ms after the send).
 */
async function dieMidRound(phase: KillPhase): Promise<void> {
  killer.arm(phase);
  for (;;) {
    const byOwner = new Map<string, Handle>();
    for (const h of live()) if (h.owner !== peer.id && !byOwner.has(h.owner)) byOwner.set(h.owner, h);
    if (byOwner.size >= 2) {
      const controller = new AbortController();
      if (phase === "abort") setTimeout(() => controller.abort(), random.int(0, 3));
      stats.ops++;
      stats.multicast++;
      track(peer.send([...byOwner.values()], { hops: 0 }, { signal: controller.signal }).catch(refuse));
    }
    await new Promise((resolve) => setTimeout(resolve, random.int(20, 60)));
  }
}
void ctx.next<{ armKill: KillPhase }>("armKill").then(({ armKill }) => dieMidRound(armKill));

const { peers } = await ctx.next<{ peers: string[] }>("peers");
async function adopt(url: string): Promise<void> {
  try {
    const h = await peer.import(url);
    held.set(h.name, h);
  } catch (error) {
    refuse(error);
  }
}
await Promise.all(peers.map(adopt));
ctx.tell({ imported: held.size });

await ctx.next("go");
running = true;
void ctx.next("stop").then(() => {
  running = false;
});
let reimporting = false;
while (running) {
  const roll = random.next();
  if (!reimporting && live().filter((h) => h.owner !== peer.id).length < 2 && peers.length > 0) {
    reimporting = true;
    stats.reimport++;
    track(adopt(random.pick(peers)).finally(() => (reimporting = false)));
  }
  if (roll < 0.04) destroy();
  else if (roll < 0.1) release();
  else send({ hops: random.chance(0.3) ? random.int(1, 3) : 0 }, false);
  await new Promise((resolve) => setTimeout(resolve, random.int(2, 30)));
}
const settled = await Promise.race([
  Promise.allSettled([...work]).then(() => true),
  new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 45_000)),
]);
stats.unsettled = settled ? 0 : work.size;
ctx.tell({ done: stats });
