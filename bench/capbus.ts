/**
 * capbus's side: receiver roles run in child processes (a sink that counts deliveries, an echo
 * that answers requests, a host of idle peers), and the sender helpers the parent uses. Every
 * peer is a `startPeer` with its default options, reached by capability URL.
 */
import { type Handle, type StartedPeer, startPeer } from "@capbus/node";
import { windowFor } from "./payload.js";
import { type Counter, onCommands, out } from "./sink.js";

/**
 * Child: one peer listening on `listen` with one node; returns its capability URL. Counts
 * deliveries, or with `echo` answers every request with its own payload.
 */
export async function capbusReceiver(listen: string, counter: Counter, echo: boolean): Promise<string> {
  const { peer } = await startPeer({ listen: [listen] });
  const node = peer.createNode();
  void (async () => {
    for await (const event of peer) {
      if (event.kind !== "message") continue;
      if (echo && event.reply) void event.reply(event.payload);
      else counter.hit(event.payload as Uint8Array);
    }
  })();
  return peer.export(node);
}

/** Child: `count` peers in this one process, each with an exported node, doing nothing. */
export async function capbusIdle(options: { count: number }): Promise<void> {
  const urls: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const { peer } = await startPeer();
    urls.push(peer.export(peer.createNode()));
  }
  onCommands(() => undefined);
  out({ urls });
}

/** Parent: a sender peer (no listener: it dials). */
export function capbusSender(): Promise<StartedPeer> {
  return startPeer({ listen: [] });
}

export async function stopSender(started: StartedPeer): Promise<void> {
  started.peer.abort();
  await started.close();
}

/**
 * Send `n` messages, keeping at most about `window` undecided: every 64th send's promise is
 * kept, and the one `window` sends earlier is awaited before going on. A failed send fails it.
 */
export async function sendWindowed(
  n: number,
  send: (i: number) => Promise<unknown>,
  window = 1024,
): Promise<void> {
  const marks: Promise<unknown>[] = [];
  const keep = Math.max(1, Math.floor(window / 64));
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
  };
  for (let i = 0; i < n && failure === undefined; i++) {
    const sent = send(i);
    if ((i & 63) === 63) {
      marks.push(sent);
      if (marks.length > keep) await marks.shift();
    } else sent.catch(fail);
  }
  await Promise.all(marks);
  if (failure !== undefined) throw failure;
}

export function streamTo(
  started: StartedPeer,
  targets: readonly (Handle | readonly Handle[])[],
  bytes: Uint8Array,
  window?: number,
): (n: number) => Promise<void> {
  const { peer } = started;
  const k = targets.length;
  const w = window ?? windowFor(bytes.byteLength);
  return (n) => sendWindowed(n, (i) => peer.send(targets[i % k]!, bytes), w);
}

/**
 * Frames per event of a capbus variant, from the sender's `Peer.stats()`: every frame its links
 * carried both ways (its own and its receivers' answers) during each run, over the events sent.
 * Wraps the variant's `go(n)`; `events(n)` says how many events a run of n sends.
 */
export class FrameCount {
  readonly perEvent: number[] = [];
  readonly #peer: StartedPeer["peer"];

  constructor(started: StartedPeer) {
    this.#peer = started.peer;
  }

  wrap(go: (n: number) => Promise<number>, events: (n: number) => number = (n) => n) {
    return async (n: number): Promise<number> => {
      const before = this.#frames();
      const ms = await go(n);
      this.perEvent.push((this.#frames() - before) / events(n));
      return ms;
    };
  }

  /** The last `runs` runs (the first is the warm-up). */
  runs(runs: number): number[] {
    return this.perEvent.slice(-runs);
  }

  #frames(): number {
    let frames = 0;
    for (const link of Object.values(this.#peer.stats().links)) frames += link.framesOut + link.framesIn;
    return frames;
  }
}
