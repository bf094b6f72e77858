/**
 * CPU per request/reply round trip (row 3's loop), both sides: sequential `peer.request` to an
 * echo child (capbus), or raw ws ping-pong (raw), and per run the rate and each side's user and
 * system CPU time per round trip.
 *   node --conditions=@capbus/source --import tsx bench/rr-cpu.ts <capbus|raw> [rts=20000] [runs=3]
 * With `strace -f -c` around it, a run of 1 round trip against one of n gives syscalls per rt.
 * RR_CHILD_FLAGS: node flags for the echo child (`--cpu-prof --cpu-prof-dir=...`); RR_WARM: warm-up rts.
 */
import { capbusSender, stopSender } from "./capbus.js";
import { payload } from "./payload.js";
import { receiver, setChildFlags } from "./proc.js";
import { openRawWs } from "./raw-ws.js";

const kind = process.argv[2] ?? "capbus";
const n = Number(process.argv[3] ?? 20000);
const runs = Number(process.argv[4] ?? 3);
const warm = Number(process.env.RR_WARM ?? 10000);
if (process.env.RR_CHILD_FLAGS) setChildFlags(process.env.RR_CHILD_FLAGS.split(" "));
const echo = await receiver({ capbus: "ws://127.0.0.1:0", rawWs: true, echo: true });
const sender = await capbusSender();
const ws = await openRawWs(echo.rawUrl);
const bytes = payload(64);
let once: () => Promise<unknown>;
if (kind === "raw") {
  let answered: (() => void) | undefined;
  ws.on("message", () => answered?.());
  once = () =>
    new Promise<void>((resolve) => {
      answered = resolve;
      ws.send(bytes, { binary: true });
    });
} else {
  const handle = await sender.peer.import(echo.url);
  once = () => sender.peer.request(handle, bytes);
}
const us = (ms: number, count: number) => ((ms * 1000) / count).toFixed(1);
for (let r = 0; r < runs + 1; r++) {
  const m = r === 0 ? warm : n;
  const c0 = process.cpuUsage();
  const e0 = await echo.proc.ask({ cmd: "cpu" });
  const t = performance.now();
  for (let i = 0; i < m; i++) await once();
  const ms = performance.now() - t;
  const c = process.cpuUsage(c0);
  const e1 = await echo.proc.ask({ cmd: "cpu" });
  if (r === 0) continue;
  const eu = (e1.user as number) - (e0.user as number);
  const es = (e1.system as number) - (e0.system as number);
  console.log(
    `${kind} ${((m / ms) * 1000).toFixed(0)} rt/s; requester ${us(c.user / 1000, m)} user + ${us(c.system / 1000, m)} sys us/rt; replier ${us(eu, m)} user + ${us(es, m)} sys us/rt`,
  );
}
ws.terminate();
await stopSender(sender);
await echo.proc.stop();
process.exit(0);
