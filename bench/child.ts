/**
 * Entry point of every child process the bench starts: `child.ts <role> <json options>`.
 * The runner stops a child by closing its stdin.
 *
 * `receiver`: one process per receiving end, hosting whichever receivers the options ask for
 * (a capbus peer, raw ws servers, a raw Unix socket server, a Cap'n Web echo server), all counting into one Counter, so
 * capbus and its baselines are received by the same process, run after run.
 */
import { capbusIdle, capbusReceiver } from "./capbus.js";
import { capnwebReceiver } from "./capnweb.js";
import { memoryChild } from "./memory.js";
import { rawNetReceiver } from "./raw-net.js";
import { rawWsReceiver } from "./raw-ws.js";
import { Counter, onCommands, out, type ReceiverOptions } from "./sink.js";

async function receiver(options: ReceiverOptions): Promise<void> {
  const counter = new Counter();
  onCommands((command) => counter.command(command));
  const echo = options.echo === true;
  out({
    url: options.capbus ? await capbusReceiver(options.capbus, counter, echo) : undefined,
    rawUrl: options.rawWs ? await rawWsReceiver(counter, { echo }) : undefined,
    batchedUrl: options.rawWsBatched ? await rawWsReceiver(counter, { batched: true }) : undefined,
    capnwebUrl: options.capnweb ? await capnwebReceiver() : undefined,
    path: options.rawNet ? await rawNetReceiver(counter, options.rawNet) : undefined,
  });
}

const [role, json] = process.argv.slice(2);
const options = JSON.parse(json ?? "{}");

const roles: Record<string, (options: never) => Promise<void>> = {
  receiver,
  "capbus-idle": capbusIdle,
  memory: memoryChild,
};

const run = roles[role ?? ""];
if (!run) throw new Error(`unknown role ${role}`);
await run(options as never);
