/**
 * One child process the kit started: its ready line, the JSON lines it prints, lines to it, and
 * stopping it (SIGTERM, then SIGKILL after a grace). Its plain output is kept for error messages.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { TestkitError } from "./errors.js";
import { LineQueue } from "./lines.js";
import { encodeLine, isReadyLine, type Line, parseLine, type ReadyLine, type Urls } from "./protocol.js";

/** How a child ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface PeerProcessOptions {
  /** How long `ready` and `next` wait. */
  readonly timeoutMs: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. */
  readonly graceMs: number;
  /** Also copy the child's plain output and stderr to this process's stderr, prefixed by name. */
  readonly echo: boolean;
}

/** Plain output lines kept per child for error messages. */
const KEPT_OUTPUT = 40;

/** One child process started by a TestKit: its ready line (capability URLs), its output lines, its stop. */
export class PeerProcess {
  /** The name the test gave it. */
  readonly name: string;
  /** Its process id (undefined if it never started). */
  readonly pid: number | undefined;
  /** Resolves with the child's ready line; rejects if it exits or times out first. */
  readonly ready: Promise<ReadyLine>;
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<Exit>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #options: PeerProcessOptions;
  readonly #lines = new LineQueue();
  readonly #output: string[] = [];
  /** The first line of the child's first error (`TypeError: ...`), kept when its tail scrolls out. */
  #firstError: string | undefined;
  #readyLine: ReadyLine | undefined;
  #exit: Exit | undefined;

  constructor(name: string, child: ChildProcessWithoutNullStreams, options: PeerProcessOptions) {
    this.name = name;
    this.pid = child.pid;
    this.#child = child;
    this.#options = options;
    child.stdin.on("error", () => undefined); // a child that exited early closes its stdin: not our error
    createInterface({ input: child.stdout }).on("line", (text) => {
      const line = parseLine(text);
      if (line === undefined) this.#keep(text);
      else this.#lines.push(line);
    });
    createInterface({ input: child.stderr }).on("line", (text) => {
      if (this.#firstError === undefined && ERROR_LINE.test(text)) this.#firstError = text.trim();
      this.#keep(text);
    });
    this.exited = new Promise<Exit>((resolve) => {
      const done = (exit: Exit) => {
        if (this.#exit) return;
        this.#exit = exit;
        this.#lines.end(() => this.#error("E_EXITED", `exited (${describe(exit)})`));
        resolve(exit);
      };
      // "close", not "exit": by then all its output has been read, so errors can quote it.
      child.on("close", (code, signal) => done({ code, signal }));
      child.on("error", (error) => {
        this.#keep(`spawn error: ${error.message}`);
        done({ code: null, signal: null });
      });
    });
    this.ready = this.next("ready").then((line) => {
      if (!isReadyLine(line)) throw this.#error("E_EXITED", `printed a malformed ready line`);
      this.#readyLine = line;
      return line;
    });
    // `ready` may be awaited late or never (a child the test only stops); an early rejection is
    // reported by whoever awaits it, not as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** The capability URLs from the ready line (throws before ready). */
  get urls(): Urls {
    if (!this.#readyLine) throw new Error(`${this.name} is not ready yet: await its ready first`);
    return this.#readyLine.urls;
  }

  /** The peer id from the ready line, if the child gave one. */
  get peer(): string | undefined {
    return this.#readyLine?.peer;
  }

  /** Undefined while running. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Every JSON line the child printed so far, in order (ready included). */
  get lines(): readonly Line[] {
    return this.#lines.all;
  }

  /** The child's plain output and stderr (the last lines), for diagnostics. */
  get output(): string {
    return this.#output.join("\n");
  }

  /**
   * The first line of the first error the child printed on stderr (`Error: ...`, `TypeError: ...`,
   * `Error [ERR_MODULE_NOT_FOUND]: ...`), kept even when a long stack pushed it out of `output`.
   */
  get firstError(): string | undefined {
    return this.#firstError;
  }

  /**
   * The oldest line not yet taken that has `key`, waiting up to the kit's timeout. The type
   * parameter is the caller's promise about the child's line; nothing validates it.
   */
  next<T extends object = Line>(key: string, options: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    return this.#lines.take(key, timeoutMs, () =>
      this.#error("E_TIMEOUT", `printed no line with "${key}" within ${timeoutMs} ms`),
    ) as Promise<unknown> as Promise<T>;
  }

  /** Send the child one JSON line on its stdin (`ctx.next` reads it there). */
  tell(line: Line): void {
    if (this.#exit === undefined && this.#child.stdin.writable) this.#child.stdin.write(encodeLine(line));
  }

  /**
   * Ask the child to stop (SIGTERM: the child helper closes its peers and exits), and SIGKILL it
   * if it is still there after the grace. Resolves with how it ended; safe to call repeatedly.
   */
  async stop(graceMs = this.#options.graceMs): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.#child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#keep(`(still running ${graceMs} ms after SIGTERM: SIGKILL)`);
        this.kill();
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  /** SIGKILL now, no grace (also used when this process exits). */
  kill(): void {
    if (this.#exit === undefined) this.#child.kill("SIGKILL");
  }

  #keep(text: string): void {
    if (this.#options.echo) process.stderr.write(`[${this.name}] ${text}\n`);
    this.#output.push(text);
    if (this.#output.length > KEPT_OUTPUT) this.#output.shift();
  }

  #error(code: "E_TIMEOUT" | "E_EXITED", what: string): TestkitError {
    const output = this.#output.length === 0 ? "(no output)" : this.output;
    const error = this.#firstError === undefined ? "" : `: ${this.#firstError}`;
    return new TestkitError(
      code,
      `child ${this.name} ${what}${error}; its output (last ${KEPT_OUTPUT} lines):\n${output}`,
    );
  }
}

/** The first line of an error as Node prints it: `Error: ...`, `TypeError: ...`, `Error [CODE]: ...`. */
const ERROR_LINE = /^\s*(?:[A-Z]\w*)?Error\b(?: \[[\w-]+\])?:/;

export function describe(exit: Exit): string {
  return exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
}
