/**
 * Child processes for the bench: each runs `bench/child.ts <role> <json options>` under tsx and
 * talks in JSON lines (commands on stdin, replies on stdout). Every child started is ended by
 * `stopAll` (also on the runner's exit), so no process outlives a run.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { ReceiverOptions } from "./sink.js";

export type Message = Record<string, unknown>;

const CHILD = new URL("./child.ts", import.meta.url).pathname;
const live = new Set<Proc>();

/**
 * Extra node flags for children (`--cpu-prof ...` when profiling); BENCH_CHILD_FLAGS adds more
 * for any bench tool (e.g. `--trace-gc`).
 */
const envFlags = (process.env.BENCH_CHILD_FLAGS ?? "").split(" ").filter((flag) => flag !== "");
let childFlags: string[] = envFlags;
export function setChildFlags(flags: string[]): void {
  childFlags = [...envFlags, ...flags];
}

export class Proc {
  readonly role: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #queue: Message[] = [];
  readonly #waiters: Array<{ resolve: (m: Message) => void; reject: (e: Error) => void }> = [];
  readonly exited: Promise<void>;
  #exitError: Error | undefined;

  constructor(role: string, options: unknown, nodeFlags: readonly string[] = []) {
    this.role = role;
    this.#child = spawn(
      process.execPath,
      [
        ...childFlags,
        ...nodeFlags,
        "--conditions=@capbus/source",
        "--import",
        "tsx",
        CHILD,
        role,
        JSON.stringify(options ?? {}),
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    live.add(this);
    this.#child.stderr.on("data", (chunk: Buffer) => process.stderr.write(`[${role}] ${chunk}`));
    createInterface({ input: this.#child.stdout }).on("line", (line) => {
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        process.stderr.write(`[${role}] ${line}\n`);
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(message);
      else this.#queue.push(message);
    });
    this.exited = new Promise((resolve) => {
      this.#child.once("exit", (code, signal) => {
        live.delete(this);
        this.#exitError = new Error(`child ${role} exited (${code ?? signal})`);
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#exitError);
        resolve();
      });
    });
  }

  /** The next message from the child. */
  next(timeoutMs = 120_000): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#exitError) return Promise.reject(this.#exitError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child ${this.role}: no reply in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  send(message: Message): void {
    this.#child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** Send a command and wait for its reply. */
  async ask(message: Message, timeoutMs?: number): Promise<Message> {
    this.send(message);
    return this.next(timeoutMs);
  }

  /** Kill at once (the runner is exiting). */
  kill(): void {
    this.#child.kill("SIGKILL");
  }

  /** End the child: ask it to exit (so a profile is written), kill it if it lingers. */
  async stop(): Promise<void> {
    if (!live.has(this)) return;
    this.#child.stdin.end();
    // BENCH_STOP_GRACE_MS: longer for children under valgrind, which take a while to write their counts.
    const timer = setTimeout(
      () => this.#child.kill("SIGKILL"),
      Number(process.env.BENCH_STOP_GRACE_MS ?? 3000),
    );
    await this.exited;
    clearTimeout(timer);
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

process.on("exit", () => {
  for (const p of live) p.kill();
});

export interface Receiver {
  readonly proc: Proc;
  /** The capbus node's capability URL. */
  readonly url: string;
  readonly rawUrl: string;
  readonly batchedUrl: string;
  /** The Cap'n Web echo server's ws URL. */
  readonly capnwebUrl: string;
  readonly path: string;
}

/** Start a `receiver` child and wait until it listens. */
export async function receiver(options: ReceiverOptions): Promise<Receiver> {
  const proc = new Proc("receiver", options);
  return { proc, ...((await proc.next()) as Omit<Receiver, "proc">) };
}
