/** Start a test child with the source condition and read its JSON lines. */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { ChildLine } from "./stream.js";

export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** The next line that has `key`. */
  next<K extends string>(key: K): Promise<Extract<ChildLine, Record<K, unknown>>>;
  kill(): void;
}

export function startChild(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, ["--conditions=@capbus/source", "--import", "tsx", script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: ChildLine[] = [];
  const waiters: Array<() => void> = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line) as ChildLine);
    for (const wake of waiters.splice(0)) wake();
  });
  child.on("exit", () => {
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    process: child,
    async next(key) {
      for (;;) {
        const at = lines.findIndex((l) => key in l);
        if (at >= 0) return lines.splice(at, 1)[0] as never;
        if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode}): ${stderr}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
