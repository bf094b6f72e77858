/**
 * The child side's common parts: JSON lines out, commands in, and the delivery counter every
 * receiver (capbus or raw) uses, so all of them are timed and armed the same way.
 */
import { createInterface } from "node:readline";
import { ageMs } from "./payload.js";

/** What one `receiver` child hosts. */
export interface ReceiverOptions {
  /** A capbus peer listening here (`ws://127.0.0.1:0`, `unix:/path`). */
  readonly capbus?: string;
  /** Raw ws servers: `raw` one message per payload, `batched` packed payloads. */
  readonly rawWs?: boolean;
  readonly rawWsBatched?: boolean;
  /** A raw length-prefixed Unix socket server at this path. */
  readonly rawNet?: string;
  /** A Cap'n Web echo server (request/reply's peer baseline). */
  readonly capnweb?: boolean;
  /** Echo (requests, ws messages) instead of counting. */
  readonly echo?: boolean;
}

export type Command = Record<string, unknown> & { readonly cmd: string };

export function out(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Run `handler` for each command line; exit when stdin ends (the runner stops this child). */
export function onCommands(handler: (command: Command) => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim() !== "") handler(JSON.parse(line) as Command);
  });
  lines.on("close", () => process.exit(0));
}

/**
 * Counts deliveries after `expect {count, latency?}`: answers `armed`, then `done` (with each
 * delivery's age in ms when `latency` was asked) once `count` were delivered.
 */
export class Counter {
  #target = 0;
  #count = 0;
  #latencies: number[] | undefined;
  /** Called at each delivery when the sender paces on acknowledgements. */
  ack: (() => void) | undefined;
  ackWanted = false;

  command(command: Command): boolean {
    if (command.cmd === "cpu") {
      const { user, system } = process.cpuUsage();
      out({ cpu: cpuMs(), user: user / 1000, system: system / 1000 });
      return true;
    }
    if (command.cmd !== "expect") return false;
    this.#target = command.count as number;
    this.#count = 0;
    this.#latencies = command.latency ? [] : undefined;
    this.ackWanted = command.ack === true;
    out({ armed: true });
    return true;
  }

  hit(bytes?: Uint8Array): void {
    if (this.#latencies && bytes) this.#latencies.push(ageMs(bytes));
    if (this.ackWanted) this.ack?.();
    if (++this.#count === this.#target) {
      out({ done: true, count: this.#count, latencies: this.#latencies ?? [], cpu: cpuMs() });
      this.#latencies = undefined;
    }
  }
}

/** This process's CPU time so far (user + system, ms): a run's share is the difference. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
