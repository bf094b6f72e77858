/**
 * The attacker process of the attack harness (scripts/attack.ts). Inputs name the attack and say
 * where the victim is (and, for attacks that hold one, a capability URL). It tells `started`
 * once the attack begins, runs until `{ stop }`, then tells `{ done: figures }`.
 */
import { childContext } from "@capbus/testkit/child";
import { clockExhaust, clockPartition, destroyUnheld } from "./clock.js";
import type { AttackContext, Attacker, Figures } from "./context.js";
import { ackWindow, decodedSize, hints, sybils } from "./memory.js";
import { preauthCpu, preauthMemory, rawSockets } from "./preauth.js";
import { leaks, linkSlots } from "./sessions.js";
import { destroyUnanswered, headOfLine, requestUnanswered } from "./timing.js";

interface Inputs {
  readonly attack: string;
  readonly endpoint: string;
  readonly victim: string;
  readonly url?: string;
  readonly seconds: number;
  readonly stageTimeoutMs: number;
}

const ATTACKERS: Readonly<Record<string, Attacker>> = {
  baseline: (ctx) => ctx.stop,
  "preauth-cpu": preauthCpu,
  "preauth-memory": preauthMemory,
  "clock-partition": clockPartition,
  "clock-exhaust": clockExhaust,
  "destroy-unheld": destroyUnheld,
  hints,
  "decoded-size": decodedSize,
  "ack-window": ackWindow,
  "head-of-line": headOfLine,
  "destroy-unanswered": destroyUnanswered,
  "request-unanswered": requestUnanswered,
  "link-slots": linkSlots,
  "raw-sockets": rawSockets,
  sybils,
  leaks,
};

const child = childContext<Inputs>();
const { attack, endpoint, victim, url, seconds, stageTimeoutMs } = child.inputs;
const run = ATTACKERS[attack];
if (run === undefined) throw new Error(`no attacker named ${attack}`);

let stopped = false;
const stop = child.next("stop").then(() => {
  stopped = true;
});
const figures: Figures = {};
const ctx: AttackContext = {
  endpoint,
  victim,
  url,
  seconds,
  stageTimeoutMs,
  stopped: () => stopped,
  stop,
  tell: (line) => child.tell(line),
  figures,
};

// Errors the attack does not handle (a socket reset mid-flood, say) are the victim's doing, not
// a harness failure: they end the attack and are reported.
process.on("uncaughtException", (error) => {
  figures.error = String(error).slice(0, 200);
});
child.ready({});
child.tell({ started: performance.timeOrigin + performance.now() });
try {
  await run(ctx);
} catch (error) {
  figures.error = String(error).slice(0, 200);
}
await stop;
child.tell({ done: figures });
