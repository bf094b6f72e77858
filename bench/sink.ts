/**
 * The child side's common parts: JSON lines out, commands in, and the delivery counter every
 * receiver (capbus or raw) uses, so all of them are timed and armed the same way.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
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
    if (command.cmd === "profile") {
      void profile(command.dir as string | undefined, command.heap === true).then(() =>
        out({ profiled: true }),
      );
      return true;
    }
    if (command.cmd !== "expect") return false;
    this.#target = command.count as number;
    this.#count = 0;
    gcPauses.length = 0;
    this.#latencies = command.latency ? [] : undefined;
    this.ackWanted = command.ack === true;
    out({ armed: true });
    return true;
  }

  hit(bytes?: Uint8Array): void {
    if (this.#latencies && bytes) this.#latencies.push(ageMs(bytes));
    if (this.ackWanted) this.ack?.();
    if (++this.#count === this.#target) {
      const gc = gcPauses.slice();
      out({ done: true, count: this.#count, latencies: this.#latencies ?? [], cpu: cpuMs(), gc });
      this.#latencies = undefined;
    }
  }
}

/** This child's GC pauses (ms) since the last `expect`, as the `done` answer reports them. */
const gcPauses: number[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push(entry.duration);
}).observe({ entryTypes: ["gc"] });

/** This process's CPU time so far (user + system, ms): a run's share is the difference. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

let profiling: Session | undefined;

/**
 * `profile {dir}` starts a CPU profile of this child (`heap: true`: a sampling allocation profile);
 * `profile {}` stops it and writes it to the dir it was started with: a profile of one window,
 * without the child's startup.
 */
export async function profile(dir: string | undefined, heap = false): Promise<void> {
  const post = (session: Session, method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
    );
  if (dir !== undefined) {
    profiling = new Session();
    profiling.connect();
    profilingDir = dir;
    profilingHeap = heap;
    if (heap) {
      await post(profiling, "HeapProfiler.startSampling", {
        samplingInterval: 512,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    await post(profiling, "Profiler.enable");
    await post(profiling, "Profiler.setSamplingInterval", { interval: 100 });
    await post(profiling, "Profiler.start");
    return;
  }
  if (!profiling) return;
  if (profilingHeap) {
    const { profile } = (await post(profiling, "HeapProfiler.stopSampling")) as { profile: unknown };
    writeFileSync(join(profilingDir, `${profileName()}.heapprofile`), JSON.stringify(profile));
    profiling.disconnect();
    profiling = undefined;
    return;
  }
  const { profile } = (await post(profiling, "Profiler.stop")) as { profile: unknown };
  writeFileSync(join(profilingDir, `${profileName()}.cpuprofile`), JSON.stringify(profile));
  profiling.disconnect();
  profiling = undefined;
}
let profilingDir = "";
/** A child by its role, the runner as `runner`, with the pid. */
const profileName = () =>
  `${process.argv[1]?.endsWith("child.ts") ? process.argv[2] : "runner"}-${process.pid}`;
let profilingHeap = false;
