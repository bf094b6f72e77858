/**
 * A system daemon multicasting power and screen-lock events to many subscribers. The daemon
 * exports one node, `subscribe`; a subscriber imports its capability URL and sends its own inbox
 * handle. Each power event is then ONE multicast to every subscriber's inbox, so all subscribers
 * see the same events in the same order (a screen lock never overtakes the lid close that caused
 * it, for anyone). A subscriber that goes away is noticed through the ordered `destroyed`
 * notification of its inbox, and dropped.
 *
 * Run: npm run example:power-events [-- SUBSCRIBERS]  (default 6; one process, ws on loopback)
 */
import { type Handle, type MessageEvent, type Peer, startPeer } from "@capbus/node";
import { inbox } from "../shared/inbox.js";

const EVENTS = [
  { type: "power", source: "ac", online: false },
  { type: "battery", percent: 20 },
  { type: "lid", closed: true },
  { type: "screen", locked: true },
  { type: "sleep", phase: "suspend" },
  { type: "sleep", phase: "resume" },
  { type: "lid", closed: false },
  { type: "screen", locked: false },
  { type: "power", source: "ac", online: true },
] as const;

/** The daemon: takes subscriptions, drops subscribers that went, publishes on demand. */
function daemon(peer: Peer) {
  const subscribers = new Map<string, Handle>();
  const subscribe = peer.createNode();
  void (async () => {
    for await (const event of peer) {
      if (event.kind === "message" && event.node === subscribe && event.handles[0]) {
        subscribers.set(event.handles[0].name, event.handles[0]);
      } else if (event.kind === "destroyed") {
        subscribers.delete(event.handle.name); // ordered: no event goes to it after this
      }
    }
  })();
  return {
    url: peer.export(subscribe),
    get count() {
      return subscribers.size;
    },
    publish: (payload: unknown) => peer.send([...subscribers.values()], payload),
  };
}

export async function main(count: number): Promise<void> {
  const system = await startPeer();
  const power = daemon(system.peer);
  console.log(`power daemon: subscribe at ${power.url}`);

  const subscribers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const started = await startPeer();
      const events = inbox(started.peer);
      const mine = started.peer.createNode();
      const subscribe = await started.peer.import(power.url);
      await started.peer.send(subscribe, { subscribe: true }, { handles: [mine.handle] });
      return { name: `subscriber-${i + 1}`, ...started, events };
    }),
  );
  while (power.count < count) await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(`${count} subscribers`);

  // Half-way through, the last subscriber goes away: it closes (its inbox is destroyed).
  const leaving = subscribers.at(-1)!;
  for (const [i, payload] of EVENTS.entries()) {
    if (i === 4) {
      await leaving.close();
      while (power.count >= count) await new Promise((resolve) => setTimeout(resolve, 20));
      console.log(`${leaving.name} left; ${power.count} subscribers now`);
    }
    const result = await power.publish(payload);
    if (!result.ok) throw new Error(`publish failed: ${JSON.stringify(result.destinations)}`);
  }

  const staying = subscribers.slice(0, -1);
  const logs = await Promise.all(
    staying.map(async (s) => {
      await s.events.until(() => s.events.events.length >= EVENTS.length);
      return s.events.events.map((e) => JSON.stringify((e as MessageEvent).payload));
    }),
  );
  const first = logs[0]!;
  console.log(`\n${staying[0]!.name} saw:`);
  for (const line of first) console.log(`  ${line}`);
  const agree = logs.every((log) => log.join("\n") === first.join("\n"));
  const leftSaw = leaving.events.events.filter((e) => e.kind === "message").length;
  console.log(`\n${leaving.name} saw the first ${leftSaw} events before it left`);
  console.log(
    `all ${staying.length} remaining subscribers saw the same ${first.length} events in the same order: ${agree}`,
  );
  if (!agree || first.length !== EVENTS.length) process.exitCode = 1;

  for (const s of staying) await s.close();
  await system.close();
}

await main(Number(process.argv[2] ?? 6));
