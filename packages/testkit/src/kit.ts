/**
 * A test kit: the processes of one multi-process test, their trace directory, Unix socket paths,
 * and the order checker. Disposing it (or `t.after`) ends every process it started.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckOptions, CheckReport } from "@capbus/checker";
import { checkTraceDir } from "./check.js";
import { CheckFailedError, TestkitError } from "./errors.js";
import type { PeerProcess } from "./process.js";
import { type SpawnOptions, spawnPeerProcess } from "./spawn.js";

/** Options of a TestKit. */
export interface TestKitOptions {
  /** Where children write traces (CAPBUS_TRACE). @default a fresh temp dir, removed on dispose */
  readonly traceDir?: string;
  /** How long to wait for a child's ready line or any awaited line. @default 30000 */
  readonly timeoutMs?: number;
  /** How long a child gets after SIGTERM before SIGKILL. @default 3000 */
  readonly graceMs?: number;
  /** The children's working directory; relative script paths resolve against it. @default process.cwd() */
  readonly cwd?: string;
  /** Export conditions children resolve packages with. @default ["@capbus/source"] */
  readonly conditions?: readonly string[];
  /**
   * How children run: `bundle` (an esbuild bundle of each script, built once per test process:
   * starts in ~0.4 s) or `tsx` (the script under `node --import tsx`: ~2.5 s, but `import.meta`
   * is the script's own). @default "bundle"
   */
  readonly run?: "bundle" | "tsx";
  /** Copy children's plain output and stderr to stderr as it comes. @default CAPBUS_TESTKIT_ECHO=1 */
  readonly echo?: boolean;
  /** Keep the temp trace dir on dispose (always kept when `check` fails). @default CAPBUS_TESTKIT_KEEP=1 */
  readonly keepTraces?: boolean;
}

/** What `t.after` needs: node:test's TestContext, or anything alike. */
export interface AfterHook {
  /** Run `fn` when the test ends. */
  after(fn: () => Promise<void>): void;
}

/**
 * Starts peer processes for one test, hands them capability URLs, stops them all (SIGTERM, then SIGKILL) and
 * checks their traces. Create it with `testKit(t)`.
 */
export class TestKit implements AsyncDisposable {
  /** Where the children write their traces (CAPBUS_TRACE). */
  readonly traceDir: string;
  readonly #options: Required<Omit<TestKitOptions, "traceDir">>;
  readonly #ownTraceDir: boolean;
  readonly #processes: PeerProcess[] = [];
  #socketDir: string | undefined;
  #keep = false;
  #disposed = false;
  /** If this process exits with children left (a crash, process.exit), kill them. */
  readonly #onExit = () => {
    for (const child of this.#processes) child.kill();
  };

  constructor(options: TestKitOptions = {}) {
    this.#ownTraceDir = options.traceDir === undefined;
    this.traceDir = options.traceDir ?? mkdtempSync(join(tmpdir(), "capbus-traces-"));
    this.#options = {
      timeoutMs: options.timeoutMs ?? 30_000,
      graceMs: options.graceMs ?? 3_000,
      cwd: options.cwd ?? process.cwd(),
      conditions: options.conditions ?? ["@capbus/source"],
      run: options.run ?? "bundle",
      echo: options.echo ?? process.env.CAPBUS_TESTKIT_ECHO === "1",
      keepTraces: options.keepTraces ?? process.env.CAPBUS_TESTKIT_KEEP === "1",
    };
    process.on("exit", this.#onExit);
  }

  /** The processes started so far, in start order. */
  get processes(): readonly PeerProcess[] {
    return this.#processes;
  }

  /**
   * Start `script` as a child named `name`, with `inputs` (any JSON; the child reads them with
   * `childContext().inputs`). Returns at once; await `child.ready` (or use `start`).
   */
  spawn(name: string, script: string | URL, inputs: unknown = {}, options: SpawnOptions = {}): PeerProcess {
    if (this.#disposed) throw new TestkitError("E_DISPOSED", "the kit is disposed");
    const child = spawnPeerProcess(name, script, inputs, options, {
      ...this.#options,
      traceDir: this.traceDir,
    });
    this.#processes.push(child);
    return child;
  }

  /** `spawn`, then wait for the child's ready line. */
  async start(
    name: string,
    script: string | URL,
    inputs: unknown = {},
    options: SpawnOptions = {},
  ): Promise<PeerProcess> {
    const child = this.spawn(name, script, inputs, options);
    await child.ready;
    return child;
  }

  /**
   * A fresh Unix socket path for `name` (`unix:` prefix not included), in a private temp dir
   * the kit removes on dispose. Short, because socket paths are limited to ~100 bytes.
   */
  socketPath(name: string): string {
    this.#socketDir ??= mkdtempSync(join(tmpdir(), "capbus-sock-"));
    return join(this.#socketDir, `${name}.sock`);
  }

  /**
   * Stop every child still running, the last started first, one at a time: a later child
   * usually holds handles to earlier ones, and its graceful close releases them while their
   * owners still listen. Each gets SIGTERM, then SIGKILL after the grace.
   */
  async stop(): Promise<void> {
    for (const child of [...this.#processes].reverse()) await child.stop();
  }

  /**
   * Stop every child, then run the order checker over the merged traces. Returns the report when
   * every property holds; throws CheckFailedError (keeping the traces) otherwise. `options`: the
   * checker's (its atomicity mode, say).
   */
  async check(options: CheckOptions = {}): Promise<CheckReport> {
    await this.stop();
    try {
      return checkTraceDir(this.traceDir, options);
    } catch (error) {
      if (error instanceof CheckFailedError) this.#keep = true;
      throw error;
    }
  }

  /** Stop every child and remove the kit's temp dirs (a failed check's traces are kept). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.stop();
    } finally {
      process.off("exit", this.#onExit);
      if (this.#socketDir) rmSync(this.#socketDir, { recursive: true, force: true });
      if (this.#ownTraceDir && !this.#keep && !this.#options.keepTraces) {
        rmSync(this.traceDir, { recursive: true, force: true });
      } else if (this.#keep) {
        process.stderr.write(`capbus testkit: traces kept in ${this.traceDir}\n`);
      }
    }
  }
}

/**
 * A kit disposed when the test ends, pass or fail: `const kit = testKit(t)` in a node:test test.
 *
 * @example
 * ```ts
 * // hello.test.ts (node --import tsx --test hello.test.ts); hello.ts is a child script that
 * // exports an inbox with ctx.ready and tells what it gets (see capbus/testkit/child)
 * import assert from "node:assert/strict";
 * import { test } from "node:test";
 * import { testKit } from "capbus/testkit";
 *
 * test("hello across processes", async (t) => {
 *   const kit = testKit(t); // every process it starts is stopped when the test ends
 *   const b = await kit.start("B", new URL("./hello.ts", import.meta.url));
 *   await kit.start("A", new URL("./hello.ts", import.meta.url), { to: b.urls.inbox });
 *   assert.deepEqual(await b.next("got"), { got: "hello" });
 *   await kit.check(); // stops them all, then checks P1-P6 over their traces; throws on a violation
 * });
 * ```
 */
export function testKit(t: AfterHook, options: TestKitOptions = {}): TestKit {
  const kit = new TestKit(options);
  t.after(() => kit[Symbol.asyncDispose]());
  return kit;
}
