/**
 * The `capbus` command: `tail`, `send`, `check`, `peer`, `trace render`, `conformance`. `main(args)` resolves with the exit code;
 * it never calls process.exit, so it can be run in-process too.
 *
 * Exit codes: 0 success, 1 the bus said no (a send not committed, no such export, a violated
 * property), 2 a usage error (unknown option, bad URL, bad JSON), 3 no answer within --timeout
 * (a peer not reached, or no reply), 130 `send` interrupted by SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import type { LogFields, Logger, PeerEvent, SendResult } from "@capbus/core";
import type { StartedPeer } from "@capbus/node";

import { EXIT, type Io, UsageError } from "./io.js";
import { trace } from "./trace.js";

export { EXIT, type Io, UsageError };

const HELP = `capbus: a capability message bus from the terminal

usage: capbus <command> [options]

commands:
  tail    start a peer, create a node, print its capability URL, then print what arrives
  send    send a JSON value (or bytes) to a node by its capability URL
  check   check traces for the ordering properties (exit 0 only when they hold)
  peer    run a peer that exports nothing and print its endpoints
  trace   trace tools: 'trace render' draws a run's space-time diagram (HTML or SVG)
  conformance  drive a peer under test (another implementation) through the spec's checks

Run 'capbus <command> --help' for a command's options.
exit codes:
  0    ok
  1    the bus said no (a send not committed, no such export), a property was violated,
       or a peer cannot listen (address in use)
  2    usage error (unknown command or option, bad URL, bad JSON, bad endpoint), or no traces
  3    no answer within --timeout: a peer could not be reached, or did not reply
       ('check': the checker failed, a bug)
  130  'send' interrupted by SIGINT/SIGTERM before it ended`;

const OBSERVE_OPTIONS = `  -s, --stats SECONDS     every SECONDS, print the peer's counters to stderr as one JSON line
                          {"stats":{...}} (Peer.stats(): queue, rounds, links)
  -v, --verbose           print the peer's log (sessions, handshakes, timeouts) to stderr
      --name NAME         the peer's name in its trace (CAPBUS_TRACE): diagrams label its lane with it`;

const TAIL_HELP = `usage: capbus tail [--listen ENDPOINT]... [--count N] [--reply-json VALUE | --echo]
                   [--stats SECONDS] [--verbose] [--name NAME]

Start a peer, create a node and export it. The first line of stdout is the node's capability URL;
then each event that arrives is printed as one JSON line:
  {"kind":"message","event":...,"node":...,"ts":{...},"payload":...,"handles":[...]}
  {"kind":"released","event":...,"node":...,"ts":{...},"reason":"released"}
A request (from 'capbus send --request') has "request":true; with --reply-json or --echo it is
answered. Byte payloads print as {"$bytes":"<hex>"}. Stops on SIGINT/SIGTERM, or after --count
events.

options:
  -l, --listen ENDPOINT   ws://host:port (port 0 picks one) or unix:/path; repeatable
                          (default ws://127.0.0.1:0). A Unix socket file left by a process
                          that died is removed when nothing listens on it.
  -n, --count N           exit 0 after N events
      --reply-json VALUE  answer every request with this JSON value
  -e, --echo              answer every request with its own payload
${OBSERVE_OPTIONS}
  -h, --help              this help
exit codes: 0 stopped or --count reached, 1 cannot listen (address in use, no such folder),
  2 usage error (bad option, endpoint or JSON)`;

const SEND_HELP = `usage: capbus send URL (--json VALUE | --bytes HEX | --text STRING) [--request]
                   [--timeout MS]

Import the capability URL, send the payload to its node and print the send result as JSON
({"event":...,"ts":...,"destinations":[...],"ok":true}). Exit 0 when the event was committed.
'capbus tail --echo' (or --reply-json VALUE) is a peer that answers requests.

options:
  -j, --json VALUE     a JSON value, sent as the payload
  -b, --bytes HEX      bytes, as hex digits
  -t, --text STRING    a string
  -r, --request        send as a request and print the reply's payload instead
      --timeout MS     bound the whole command (dial, handshake, claim, send, reply) to MS
                       milliseconds (default 5000)
  -h, --help           this help
exit codes: 0 committed (or the reply printed), 1 refused (not committed; no such export: a wrong
  secret, or the URL was revoked), 2 usage error (bad URL, bad payload, bad option), 3 no answer
  within --timeout (the owner not reached, or no reply), 130 interrupted (SIGINT/SIGTERM)`;

const CHECK_HELP = `usage: capbus check [--strict | --lenient] TRACE...

Read traces (.jsonl files, or directories of them, as written with CAPBUS_TRACE=<dir>), rebuild
happened-before and check the ordering properties P1-P6. Prints a summary, then each violation.
A torn last line (a process killed while writing it) is skipped with a warning; traces that
form groups of peers that never linked to each other look like more than one run in one folder
and get a warning too: give each run its own folder.

The summary counts sends, destroys, releases, aborts (rounds their sender dropped), imports,
expiries (sessions that ended without a clean close: the crash rules applied) and deliveries by
kind; peers "without close" have no close record (killed, or still running). "excused" counts,
by reason, expectations the checker did not hold the run to because a guarantee does not cover
them (a peer crashed or expired, a node destroyed concurrently, a sender not traced).
"partial multicasts" counts multicasts delivered at some destinations and not others, the
missing ones by cause. --strict holds a multicast split by its sender's loss to P4 unless the
missing destination recorded a reconciliation fallback (for peers that reconcile); --lenient (the
default) excuses it, as version 1 promised (spec/trace.md §4.3).
exit codes: 0 every property holds, 1 violations, 2 no traces, unreadable or malformed traces,
  3 the checker failed (a bug: please report it)`;

const PEER_HELP = `usage: capbus peer [--listen ENDPOINT]... [--unix PATH] [--stats SECONDS] [--verbose] [--name NAME]

Run a peer that exports nothing: a relay target other peers can link through. Prints one JSON
line {"peer":"<id>","endpoints":[...]} and runs until SIGINT/SIGTERM.

options:
  -l, --listen ENDPOINT   ws://host:port or unix:/path; repeatable (default ws://127.0.0.1:0)
  -u, --unix PATH         also listen on a Unix socket at PATH
${OBSERVE_OPTIONS}
  -h, --help              this help
exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen (address in use, no such folder),
  2 usage error`;

const CONFORMANCE_HELP = `usage: capbus conformance ENDPOINT --node URL [--trace PATH] [--vectors DIR]
                          [--only GROUP,...] [--timeout MS] [--json]

Drive a peer under test over a real socket as the other end(s), through the checks of
spec/README.md ("Conformance kit"), in groups: codec (every frame vector), handshake (good and
bad), holder, owner, ordering (scenario vectors and a multi-peer run judged by the trace checker),
resume (duplicates, a bad ack) and hostile (oversize, deep CBOR, key floods). Prints one line per
check (ok, FAIL name: why, skip name: why) and a summary.

ENDPOINT is where the peer listens: ws://host:port or unix:/path.

options:
      --node URL       the capability URL of the peer's test node (required)
      --trace PATH     the peer's trace file, or the directory it writes <id>.jsonl into
                       (CAPBUS_TRACE); without it, checks that read deliveries are skipped
      --vectors DIR    the vectors directory (default: spec/vectors of this repository)
      --only GROUPS    run only these groups, comma-separated
      --timeout MS     how long to wait for each answer (default 2000)
      --json           one JSON object per line: each check, then {"summary":{...}}
  -h, --help           this help
exit codes: 0 every check passed (skips allowed), 1 a check failed, 2 usage error,
  3 the peer could not be reached`;

/** Run `capbus <args>` and resolve with its exit code (see EXIT); never calls process.exit. */
export async function main(args: readonly string[], io: Io = processIo()): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
      case "-h":
      case "--help":
      case "help":
        if (command === undefined) {
          io.err(HELP);
          return EXIT.USAGE;
        }
        io.out(HELP);
        return EXIT.OK;
      case "tail":
        return await tail(rest, io);
      case "send":
        return await send(rest, io);
      case "check":
        return await check(rest, io);
      case "peer":
        return await peer(rest, io);
      case "trace":
        return await trace(rest, io);
      case "conformance":
        return await conformance(rest, io);
      default:
        throw new UsageError(`unknown command '${command}'`, "");
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`capbus: ${(error as Error).message}`);
      const where =
        error instanceof UsageError && error.where !== undefined
          ? error.where
          : command === "trace" && rest[0] === "render"
            ? "trace render"
            : command === "help"
              ? ""
              : command;
      io.err(`Run 'capbus ${where ? `${where} ` : ""}--help' for usage.`);
      return EXIT.USAGE;
    }
    const code = busErrorCode(error);
    if (code === "E_UNREACHABLE") {
      io.err(`capbus: unreachable: ${(error as Error).message}`);
      return EXIT.UNREACHABLE;
    }
    if (code !== undefined) {
      io.err(`capbus: ${code}: ${(error as Error).message}`);
      return EXIT.FAILED;
    }
    io.err(`capbus: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.FAILED;
  }
}

async function tail(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      listen: { type: "string", short: "l", multiple: true },
      count: { type: "string", short: "n" },
      "reply-json": { type: "string" },
      echo: { type: "boolean", short: "e" },
      ...OBSERVE_ARGS,
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return help(io, TAIL_HELP);
  const stop = io.stop; // from here on SIGINT/SIGTERM stop the command (see processIo)
  const count = values.count === undefined ? undefined : positiveInt("--count", values.count);
  const answer = replier(values["reply-json"], values.echo);
  const observe = observing(values, io);
  const started = await start(endpoints(values.listen), observe.logger, values.name);
  const stopStats = observe.stats(started);
  const { peer } = started;
  const node = peer.createNode();
  io.out(peer.export(node));
  let seen = 0;
  const stopped = new Promise<undefined>((resolve) => onStop(stop, () => resolve(undefined)));
  try {
    while (count === undefined || seen < count) {
      const event = await Promise.race([peer.receive(), stopped]);
      if (event === undefined) break;
      io.out(toJson(describe(event)));
      if (answer && event.kind === "message" && event.reply) answerRequest(event, answer, io);
      seen++;
    }
  } finally {
    stopStats();
    await started.close();
  }
  return EXIT.OK;
}

async function send(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      json: { type: "string", short: "j" },
      bytes: { type: "string", short: "b" },
      text: { type: "string", short: "t" },
      request: { type: "boolean", short: "r" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(io, SEND_HELP);
  const stop = io.stop; // from here on SIGINT/SIGTERM stop the command (see processIo)
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? "missing the capability URL" : "give one URL");
  const url = positionals[0]!;
  checkCapabilityUrl(url);
  const payload = payloadOf(values);
  const timeout = values.timeout === undefined ? 5000 : positiveInt("--timeout", values.timeout);
  const { startPeer } = await import("@capbus/node");
  const limit = deadline(stop, timeout);
  const started = await startPeer({ listen: [], dialTimeoutMs: timeout });
  let step: "reach" | "send" | "reply" = "reach";
  let done = false;
  try {
    const handle = await limit.race(started.peer.import(url));
    step = values.request ? "reply" : "send";
    const options = { signal: limit.signal };
    if (values.request) {
      io.out(toJson(await started.peer.request(handle, payload, options)));
      done = true;
      return EXIT.OK;
    }
    const result: SendResult = await started.peer.send(handle, payload, options);
    io.out(toJson(result));
    done = true;
    if (!result.ok && result.destinations.some((d) => d.code === "E_UNREACHABLE")) return EXIT.UNREACHABLE;
    return result.ok ? EXIT.OK : EXIT.FAILED;
  } catch (error) {
    if (!limit.signal.aborted) throw error;
    if (stop.aborted) {
      io.err("capbus: interrupted");
      return EXIT.INTERRUPTED;
    }
    const what = {
      reach: `unreachable: the owner was not reached (dial, handshake, claim) within ${timeout} ms`,
      send: `timed out: the send was not committed within ${timeout} ms`,
      reply: `timed out: no reply within ${timeout} ms`,
    }[step];
    io.err(`capbus: ${what}`);
    return EXIT.UNREACHABLE;
  } finally {
    await stopPeer(started, done ? limit : undefined);
    limit.clear();
  }
}

/** One bound for a whole command: aborted when `ms` pass or when `stop` aborts (SIGINT/SIGTERM). */
function deadline(stop: AbortSignal, ms: number) {
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new Error(`--timeout ${ms} ms passed`)), ms);
  const interrupted = () => controller.abort(new Error("interrupted"));
  onStop(stop, interrupted);
  return {
    signal,
    /** `promise`, or a rejection as soon as the bound is reached. */
    race<T>(promise: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const giveUp = () => reject(signal.reason);
        if (signal.aborted) giveUp();
        else signal.addEventListener("abort", giveUp, { once: true });
        const settle = () => signal.removeEventListener("abort", giveUp);
        promise.then(
          (value) => {
            settle();
            resolve(value);
          },
          (error: unknown) => {
            settle();
            reject(error);
          },
        );
      });
    },
    clear() {
      clearTimeout(timer);
      stop.removeEventListener("abort", interrupted);
    },
  };
}

/**
 * Close gracefully within what is left of `limit`; past it (or with no `limit`: the command gave
 * up) abort, so nothing the peer started keeps the process alive.
 */
async function stopPeer(started: StartedPeer, limit: ReturnType<typeof deadline> | undefined) {
  if (limit !== undefined) {
    try {
      await limit.race(started.close());
      return;
    } catch {
      // the bound was reached while closing: abort below
    }
  }
  started.peer.abort();
  await started.close();
}

async function check(args: readonly string[], io: Io): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) return help(io, CHECK_HELP);
  const unknown = args.find((a) => a.startsWith("-") && a !== "--strict" && a !== "--lenient");
  if (unknown !== undefined) throw new UsageError(`unknown option '${unknown}'`);
  if (args.length === 0) throw new UsageError("missing TRACE: give .jsonl files or directories");
  const { runCheckTrace } = await import("@capbus/checker");
  return runCheckTrace(
    args,
    (text) => io.out(text),
    (text) => io.err(`capbus: ${text}`),
  );
}

async function peer(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      listen: { type: "string", short: "l", multiple: true },
      unix: { type: "string", short: "u" },
      ...OBSERVE_ARGS,
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return help(io, PEER_HELP);
  const stop = io.stop; // from here on SIGINT/SIGTERM stop the command (see processIo)
  const listen = [...(values.listen ?? (values.unix ? [] : ["ws://127.0.0.1:0"]))];
  if (values.unix !== undefined) listen.push(`unix:${values.unix}`);
  const observe = observing(values, io);
  const started = await start(endpoints(listen), observe.logger, values.name);
  const stopStats = observe.stats(started);
  io.out(toJson({ peer: started.peer.id, endpoints: started.endpoints }));
  await new Promise<void>((resolve) => onStop(stop, resolve));
  stopStats();
  await started.close();
  return EXIT.OK;
}

async function conformance(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      node: { type: "string" },
      trace: { type: "string" },
      vectors: { type: "string" },
      only: { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(io, CONFORMANCE_HELP);
  const [endpoint, ...extra] = positionals;
  if (endpoint === undefined) throw new UsageError("missing ENDPOINT: ws://host:port or unix:/path");
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (!/^(ws|wss):\/\/|^unix:./.test(endpoint))
    throw new UsageError(`bad endpoint '${endpoint}': use ws://host:port or unix:/path`);
  if (values.node === undefined)
    throw new UsageError("missing --node URL: the capability URL of the test node");
  checkCapabilityUrl(values.node);
  const kit = await import("@capbus/conformance");
  const groups = values.only?.split(",").map((g) => g.trim());
  const unknown = groups?.find((g) => !(kit.GROUPS as readonly string[]).includes(g));
  if (unknown !== undefined)
    throw new UsageError(`unknown group '${unknown}': one of ${kit.GROUPS.join(", ")}`);
  const answerMs = values.timeout === undefined ? undefined : positiveInt("--timeout", values.timeout);
  let summary: Awaited<ReturnType<typeof kit.runConformance>>;
  try {
    summary = await kit.runConformance({
      endpoint,
      node: values.node,
      trace: values.trace,
      vectors: values.vectors,
      groups: groups as (typeof kit.GROUPS)[number][] | undefined,
      answerMs,
      report: (result) => io.out(values.json ? toJson(result) : kit.formatResult(result)),
    });
  } catch (error) {
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (syscall === "connect" || code === "ECONNREFUSED") {
      io.err(`capbus: unreachable: nothing accepts at ${endpoint} (${code})`);
      return EXIT.UNREACHABLE;
    }
    throw error;
  }
  const { results: _results, ...counts } = summary;
  io.out(values.json ? toJson({ summary: counts }) : kit.formatSummary(summary));
  return summary.failed === 0 ? EXIT.OK : EXIT.FAILED;
}

// --- helpers

function help(io: Io, text: string): number {
  io.out(text);
  return EXIT.OK;
}

/**
 * The real process's Io. SIGINT/SIGTERM handlers are installed only once a command asks for
 * `stop` (tail, peer, send), so `check` and `trace render` keep Node's default: they end at once.
 */
function processIo(): Io {
  let controller: AbortController | undefined;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    get stop() {
      if (controller === undefined) {
        const stopping = new AbortController();
        const stop = () => stopping.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        controller = stopping;
      }
      return controller.signal;
    },
  };
}

/** `--reply-json VALUE` or `--echo`: what `tail` answers requests with. */
type Answer = { readonly echo: true } | { readonly value: unknown };

function replier(json: string | undefined, echo: boolean | undefined): Answer | undefined {
  if (json !== undefined && echo) throw new UsageError("give --reply-json or --echo, not both");
  if (echo) return { echo: true };
  if (json === undefined) return undefined;
  try {
    return { value: JSON.parse(json) as unknown };
  } catch (error) {
    throw new UsageError(`--reply-json is not valid JSON: ${(error as Error).message}`);
  }
}

/** Answer one request; a failed reply (its requester gone, say) is reported, not fatal. */
function answerRequest(event: PeerEvent & { kind: "message" }, answer: Answer, io: Io): void {
  const body = "echo" in answer ? event.payload : answer.value;
  event.reply?.(body).then(
    (result) => {
      if (!result.ok) io.err(`capbus: the reply to ${event.event} was not committed`);
    },
    (error: unknown) => io.err(`capbus: cannot reply to ${event.event}: ${(error as Error).message}`),
  );
}

function onStop(signal: AbortSignal, then: () => void): void {
  if (signal.aborted) then();
  else signal.addEventListener("abort", then, { once: true });
}

/** `--stats SECONDS` and `--verbose`, shared by `tail` and `peer`. */
const OBSERVE_ARGS = {
  stats: { type: "string", short: "s" },
  verbose: { type: "boolean", short: "v" },
  name: { type: "string" },
} as const;

/** The logger `--verbose` asks for, and the periodic stats line `--stats` asks for. */
function observing(
  values: { stats?: string | undefined; verbose?: boolean | undefined },
  io: Io,
): { logger: Logger | undefined; stats: (started: StartedPeer) => () => void } {
  const seconds = values.stats === undefined ? undefined : positiveNumber("--stats", values.stats);
  const line =
    (level: string) =>
    (message: string, fields?: LogFields): void =>
      io.err(`capbus: ${level}: ${message}${fields ? ` ${toJson(fields)}` : ""}`);
  const logger = values.verbose
    ? { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") }
    : undefined;
  const stats = (started: StartedPeer) => {
    if (seconds === undefined) return () => undefined;
    const timer = setInterval(() => io.err(toJson({ stats: started.peer.stats() })), seconds * 1000);
    timer.unref(); // the command ends on its own terms, never held open by the stats line
    return () => clearInterval(timer);
  };
  return { logger, stats };
}

async function start(listen: readonly string[], logger?: Logger, name?: string): Promise<StartedPeer> {
  if (name === "") throw new UsageError("--name must not be empty");
  const { startPeer } = await import("@capbus/node");
  try {
    return await startPeer({
      listen,
      ...(logger ? { logger } : {}),
      ...(name === undefined ? {} : { name }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new Error(`cannot listen on ${listen.join(", ")}: address in use`);
    if (code === "ENOENT" || code === "EACCES")
      throw new Error(`cannot listen on ${listen.join(", ")}: ${(error as Error).message}`);
    throw error;
  }
}

function endpoints(listen: readonly string[] | undefined): string[] {
  const list = [...(listen ?? ["ws://127.0.0.1:0"])];
  for (const endpoint of list) {
    if (endpoint.startsWith("unix:")) {
      if (endpoint.length <= 5) throw new UsageError(`bad endpoint '${endpoint}': give unix:/path`);
      continue;
    }
    if (!endpoint.startsWith("ws://"))
      throw new UsageError(`bad endpoint '${endpoint}': use ws://host:port or unix:/path`);
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`bad endpoint '${endpoint}': not a URL`);
    }
    if (url.pathname !== "/" && url.pathname !== "")
      throw new UsageError(`bad endpoint '${endpoint}': no path allowed`);
  }
  return list;
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`${name} must be a positive integer (got '${text}')`);
  return n;
}

function positiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`${name} must be a positive number (got '${text}')`);
  return n;
}

const SCHEMES = ["capbus:", "capbus+wss:", "capbus+unix:"];

/** Name what is wrong with a capability URL before any peer starts. */
export function checkCapabilityUrl(url: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1];
  if (scheme === undefined)
    throw new UsageError(`bad capability URL '${url}': expected capbus://host:port/<peer>/<secret>`);
  if (!SCHEMES.includes(scheme.toLowerCase()))
    throw new UsageError(
      `bad capability URL '${url}': scheme '${scheme}' is not one of ${SCHEMES.map((s) => `${s}//`).join(", ")}`,
    );
  const parts = url.slice(scheme.length + 2).split("/");
  const secret = parts.at(-1) ?? "";
  const peerId = parts.at(-2) ?? "";
  if (parts.length < 3 || peerId === "" || secret === "")
    throw new UsageError(
      `bad capability URL '${url}': expected <place>/<peer id>/<secret> after '${scheme}//'`,
    );
  if (!/^[A-Za-z0-9_-]{22,}$/.test(secret))
    throw new UsageError(`bad capability URL '${url}': the secret must be 22 or more base64url characters`);
}

function payloadOf(values: {
  json?: string | undefined;
  bytes?: string | undefined;
  text?: string | undefined;
}) {
  const given = [values.json, values.bytes, values.text].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError("give exactly one of --json, --bytes, --text");
  if (values.json !== undefined) {
    try {
      return JSON.parse(values.json) as unknown;
    } catch (error) {
      throw new UsageError(`--json is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (values.bytes !== undefined) {
    const hex = values.bytes.replace(/^0x/, "");
    if (!/^([0-9a-fA-F]{2})*$/.test(hex))
      throw new UsageError("--bytes must be an even number of hex digits");
    return Uint8Array.from(Buffer.from(hex, "hex"));
  }
  return values.text;
}

/** An event as plain JSON-able data. */
export function describe(event: PeerEvent): Record<string, unknown> {
  switch (event.kind) {
    case "message":
      return {
        kind: "message",
        event: event.event,
        node: event.node.name,
        ts: event.ts,
        payload: event.payload,
        handles: event.handles.map((h) => h.name),
        ...(event.reply ? { request: true } : {}),
      };
    case "destroyed":
      return {
        kind: "destroyed",
        event: event.event,
        handle: event.handle.name,
        ts: event.ts,
        reason: event.reason,
      };
    case "released":
      return {
        kind: "released",
        event: event.event,
        node: event.node.name,
        ts: event.ts,
        reason: event.reason,
      };
  }
}

/** JSON with bytes as {"$bytes": hex} and bigints as strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("hex") };
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries(v);
    if (v === undefined) return null;
    return v;
  });
}

/** The code of a CapbusError (checked by name: @capbus/core is loaded lazily). */
function busErrorCode(error: unknown): string | undefined {
  const e = error as { name?: unknown; code?: unknown } | null;
  return e?.name === "CapbusError" && typeof e.code === "string" ? e.code : undefined;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
