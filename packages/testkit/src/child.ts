/**
 * The child side of the testkit, for the scripts a TestKit starts: the inputs the test passed,
 * `ready(urls)` to hand capability URLs back, lines to and from the test, and a stop that closes
 * the child's peers gracefully (so their traces end with `close`) on SIGTERM, SIGINT, or when
 * the test process goes away (stdin ends). Imports nothing but Node built-ins.
 *
 * ```ts
 * import { startPeer } from "capbus/node";
 * import { childContext } from "capbus/testkit/child";
 *
 * const ctx = childContext<{ greet: string }>();
 * const started = await startPeer();
 * ctx.onStop(() => started.close());
 * const inbox = started.peer.createNode();
 * ctx.ready({ inbox: started.peer.export(inbox) }, { peer: started.peer.id });
 * for await (const event of started.peer) ctx.tell({ got: event.kind });
 * ```
 *
 * @module @capbus/testkit/child
 */
import { createInterface } from "node:readline";
import { LineQueue } from "./lines.js";
import { encodeLine, INPUTS_ENV, type Line, NAME_ENV, parseLine, type Urls } from "./protocol.js";

/**
 * What a child script gets from `childContext()`: its name and inputs, lines to and from the test, and a
 * graceful stop.
 */
export interface ChildContext<I> {
  /** The name the test gave this child (or the script's pid when run by hand). */
  readonly name: string;
  /** The inputs the test passed (parsed JSON; validate them if they come from elsewhere). */
  readonly inputs: I;
  /** Tell the test this child is ready, with the capability URLs it offers. Call it once. */
  ready(urls: Urls, extra?: { readonly peer?: string }): void;
  /** Send the test one JSON line (it reads it with `child.next(key)`). */
  tell(line: Line): void;
  /**
   * The oldest line from the test (`child.tell`) not yet taken that has `key` (any line when
   * omitted). The type parameter is the caller's promise; nothing validates it.
   */
  next<T extends object = Line>(key?: string): Promise<T>;
  /** Run `fn` on stop (e.g. `() => started.close()`); the last registered runs first. */
  onStop(fn: () => unknown): void;
  /** Run the stop functions, then exit (code 1 if one threw, else `code`). */
  stop(code?: number): Promise<never>;
}

let context: ChildContext<unknown> | undefined;

/** This child's context; the first call sets up signal and stdin handling, later calls share it. */
export function childContext<I = Record<string, unknown>>(): ChildContext<I> {
  context ??= createContext();
  return context as ChildContext<I>;
}

function createContext(): ChildContext<unknown> {
  const stops: Array<() => unknown> = [];
  const fromTest = new LineQueue();
  let stopping: Promise<never> | undefined;
  const write = (line: Line) => process.stdout.write(encodeLine(line));

  const stop = (code = 0): Promise<never> => {
    stopping ??= (async () => {
      let exitCode = code;
      for (const fn of stops.reverse()) {
        try {
          await fn();
        } catch (error) {
          process.stderr.write(
            `stop failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
          );
          exitCode = 1;
        }
      }
      // stdout is a pipe, written synchronously on POSIX: nothing printed is lost by exiting.
      process.exit(exitCode);
    })();
    return stopping;
  };

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (text) => {
    const line = parseLine(text);
    if (line) fromTest.push(line);
  });
  // The test process is gone (or closed our stdin): nobody will stop us, so stop now.
  lines.on("close", () => {
    fromTest.end(() => new Error("the test closed this child's stdin"));
    void stop(0);
  });
  process.once("SIGTERM", () => void stop(0));
  process.once("SIGINT", () => void stop(0));

  return {
    name: process.env[NAME_ENV] ?? `pid-${process.pid}`,
    inputs: JSON.parse(process.env[INPUTS_ENV] ?? "{}") as unknown,
    ready: (urls, extra = {}) => write({ ready: true, urls, ...extra }),
    tell: write,
    next: <T extends object>(key?: string) =>
      fromTest.take(
        key,
        Number.POSITIVE_INFINITY,
        () => new Error("unreachable"),
      ) as Promise<unknown> as Promise<T>,
    onStop: (fn) => {
      stops.push(fn);
    },
    stop,
  };
}
