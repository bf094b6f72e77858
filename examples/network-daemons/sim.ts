/**
 * The seed's scenario on a simulated network with adverse delays: link manager A announces new
 * links to policy daemon B and DHCP client C in one multicast; B reacts by asking C to start
 * DHCP on the link. A's path to C is slow and B's is fast, so with plain sockets C would hear
 * B's request first. capbus orders B's request after A's announcement, everywhere.
 *
 *   npm run demo:sim                  (CAPBUS_TRACE=<dir> also writes the peers' traces)
 */
import { checkTraces, formatReport } from "@capbus/checker";
import type { Peer, PeerEvent } from "@capbus/core";
import { SimWorld } from "@capbus/sim";
import { MemoryTraceSink, teeTraceSink } from "@capbus/trace";
import { fileTraceSinkFromEnv } from "@capbus/trace/node";

type Announcement = { readonly kind: "link-added"; readonly link: string };
type DhcpRequest = { readonly kind: "start-dhcp"; readonly link: string };

const LINKS = ["eth0", "wlan0", "eth1"];
const memory = new MemoryTraceSink();
const world = new SimWorld({ seed: 7, traceFor: (id) => teeTraceSink(memory, fileTraceSinkFromEnv(id)) });
const ROLES = { A: "link-manager", B: "policy-daemon", C: "dhcp-client" } as const;
const [a, b, c] = (["A", "B", "C"] as const).map((id) =>
  world.addPeer(id, { name: `${id} ${ROLES[id]}`, traceSummary: 80 }),
) as [Peer, Peer, Peer];
world.link("A", "C", { min: 150, max: 250 }); // the slow path
world.link("A", "B", { min: 1, max: 5 });
world.link("B", "C", { min: 1, max: 5 });

const policyInbox = b.createNode();
const dhcpInbox = c.createNode();
const announceTo = [world.give(policyInbox, "A"), world.give(dhcpInbox, "A")];
const requestTo = world.give(dhcpInbox, "B");

const log = (peer: Peer, event: PeerEvent): void => {
  const { lamport, peer: sender, seq } = event.ts;
  const ms = world.scheduler.now().toFixed(0).padStart(4);
  const what = event.kind === "message" ? JSON.stringify(event.payload) : `${event.kind} notification`;
  console.log(`  t=${ms}ms  ${peer.id} delivers ${what}  ts=(${lamport}, ${sender}, ${seq})`);
};

// B, the policy daemon: every new link gets DHCP.
const policyDaemon = (async () => {
  for await (const event of b) {
    log(b, event);
    if (event.kind !== "message") continue;
    const { link } = event.payload as Announcement;
    await b.send(requestTo, { kind: "start-dhcp", link } satisfies DhcpRequest);
  }
})();

// C, the DHCP client: a request for a link it has not heard of would be a race.
const seenAtC: string[] = [];
const dhcpClient = (async () => {
  const known = new Set<string>();
  for await (const event of c) {
    log(c, event);
    if (event.kind !== "message") continue;
    const message = event.payload as Announcement | DhcpRequest;
    seenAtC.push(`${message.kind}:${message.link}`);
    if (message.kind === "link-added") known.add(message.link);
    else if (!known.has(message.link))
      console.log(`  !! C was asked to start DHCP on unknown link ${message.link}`);
  }
})();

console.log("A announces links to B and C (A-C is slow: 150-250 ms; A-B and B-C: 1-5 ms)\n");
for (const link of LINKS) void a.send(announceTo, { kind: "link-added", link } satisfies Announcement);
await world.run();
await world.close();
await Promise.all([policyDaemon, dhcpClient]);

const inOrder = LINKS.every((l) => seenAtC.indexOf(`link-added:${l}`) < seenAtC.indexOf(`start-dhcp:${l}`));
console.log(`\nC saw every announcement before the request it caused: ${inOrder ? "yes" : "NO"}`);
const report = checkTraces(memory.byPeer);
console.log(`order checker over the peers' traces: ${report.ok ? "all properties hold" : "VIOLATIONS"}`);
if (!report.ok) console.log(formatReport(report));
if (!inOrder || !report.ok) process.exitCode = 1;
