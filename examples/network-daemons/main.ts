/**
 * The demo, for real: link manager A, policy daemon B and DHCP client C as three processes on
 * loopback WebSocket. Nothing tells them about each other but capability URLs: C exports its
 * inbox, B gets C's URL and exports its own, A gets both. A announces new links to B and C in one
 * multicast each; B, on delivering an announcement, asks C to start DHCP on that link. C must
 * see the announcement before B's request, even though B's request travels on another link:
 * capbus orders B's request after the announcement it caused, at every peer.
 *
 * It prints each process's deliveries in its order (time since start, what, from whom, final
 * timestamp), then runs the order checker over the three processes' traces (exit 1 on a
 * violation). Every child is stopped before it exits.
 *
 *   npm start                          (CAPBUS_TRACE=<dir> keeps the traces there)
 *   npm run demo:sim                   (the same over a simulated network with a slow A-to-C link)
 */
import { formatReport } from "@capbus/checker";
import { type PeerProcess, TestKit } from "@capbus/testkit";
import type { Delivery } from "./messages.js";
import { deliveries, runScenario } from "./scenario.js";

const LINKS = ["eth0", "wlan0", "eth1"];
const traceDir = process.env.CAPBUS_TRACE;
await using kit = new TestKit(traceDir ? { traceDir } : {});

console.log("Starting C (dhcp-client), B (policy-daemon), A (link-manager) on ws://127.0.0.1 ...");
const run = await runScenario(kit, { links: LINKS });
const processes = [run.a, run.b, run.c];
const names = new Map(processes.map((p) => [p.peer ?? "?", p.name]));
const who = (peer: string) => names.get(peer) ?? peer.slice(0, 8);
type Announced = { link: string; ts: [number, string, number] | null; at: number };
const announced = run.a.lines.flatMap((line) => (line.announced ? [line.announced as Announced] : []));
// Times count from A's first announcement: process start-up is not what the demo is about.
const t0 = Math.min(...announced.map((a) => a.at));
const ms = (at: number) => `+${String(at - t0).padStart(5)} ms`;
const ts = ([lamport, peer, seq]: readonly [number, string, number]) =>
  `ts=(${lamport}, ${who(peer)}, ${seq})`;
const what = (d: Delivery) => (d.kind === "message" ? describe(d.payload) : `${d.kind} notification`);

console.log(
  `\nA/B/C pids ${processes.map((p) => p.pid).join("/")}; each process's deliveries, in its order:`,
);
console.log(`\n${label(run.a)} (owns no node; its sends)`);
for (const a of announced) {
  console.log(`  ${ms(a.at)}  sends   link-added ${a.link} to B, C  ${a.ts ? ts(a.ts) : "(failed)"}`);
}
for (const p of [run.b, run.c]) {
  console.log(`\n${label(p)}`);
  for (const d of deliveries(p))
    console.log(`  ${ms(d.at)}  delivers ${what(d)} from ${who(d.from)}  ${ts(d.ts)}`);
}

const inOrder = run.answers.every((a) => a.knewLink);
console.log(`\nC saw every announcement before the request it caused: ${inOrder ? "yes" : "NO"}`);
const report = await kit.check().catch((error: unknown) => {
  console.log(error instanceof Error ? error.message : String(error));
  return undefined;
});
if (report)
  console.log(
    `order checker over the 3 processes' traces:\n  ${formatReport(report).replaceAll("\n", "\n  ")}`,
  );
const exits = processes.map((p) => `${p.name} ${p.exit?.code === 0 ? "exited 0" : JSON.stringify(p.exit)}`);
console.log(`children: ${exits.join(", ")}`);
if (!inOrder || !report) process.exitCode = 1;

function label(p: PeerProcess): string {
  const role = { A: "link-manager", B: "policy-daemon", C: "dhcp-client" }[p.name] ?? "";
  return `${p.name} ${role} (pid ${p.pid}, peer ${p.peer?.slice(0, 8)}...)`;
}

function describe(payload: unknown): string {
  const m = payload as { kind?: string; link?: string };
  return m.kind && m.link ? `${m.kind} ${m.link}` : JSON.stringify(payload);
}
