/**
 * Running the `capbus` command as users run it (`node packages/cli/bin/capbus.mjs ...`) in a child
 * process, with its stdout lines as they come. Every process started here is SIGKILLed by
 * `killAll` (call it from `after`), so none outlives its test file.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const CAPBUS_BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "capbus.mjs");

const running = new Set<ChildProcess>();

/** How a command ended, and how long it ran. */
export interface Done {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** A running command: its stdout lines as they come, and its end. */
export function startCapbus(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const started = performance.now();
  const child = spawn(process.execPath, [CAPBUS_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    stdout += `${line}\n`;
    lines.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Done>((resolve) =>
    child.on("close", (code) => {
      running.delete(child);
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    }),
  );
  /** Wait for the n-th stdout line (0-based). */
  async function line(n: number, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (lines.length <= n) {
      if (child.exitCode !== null || Date.now() > deadline)
        assert.fail(`no line ${n} from capbus ${args.join(" ")}; stdout:\n${stdout}\nstderr:\n${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return lines[n]!;
  }
  /** Wait until stderr so far satisfies `ok`. */
  async function errUntil(ok: (stderr: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!ok(stderr)) {
      if (child.exitCode !== null || Date.now() > deadline)
        assert.fail(`capbus ${args.join(" ")}: stderr never matched; stderr:\n${stderr}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
    }
    return stderr;
  }
  return { child, done, line, errUntil };
}

/** Run a command to its end. */
export function runCapbus(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Done> {
  return startCapbus(args, env).done;
}

/** SIGKILL every command still running. */
export function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
}
