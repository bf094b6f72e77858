/**
 * The chaos peer's targeted kill (--kill-at commit|abort): armed, the process SIGKILLs itself
 * right after its commit (or `commits` batch, or abort) of a multicast went out on some of the
 * round's links and not the others, the window W1 of spec/guarantees.md §5 (issue 22). A random
 * SIGKILL almost never lands there: a round's commits are written in one turn.
 *
 * It taps `Link.send` of every link the peer connects. From the cut on, nothing more is written
 * (the frames before it are in the sockets' buffers and still arrive); the SIGKILL follows at the
 * next turn, once the corked writes went out. A line goes to `log` first, synchronously.
 */
import { appendFileSync } from "node:fs";
import type { Link, Peer } from "@capbus/node";
import type { Random } from "@capbus/sim";
import { FrameCodec } from "@capbus/wire";

export type KillPhase = "commit" | "abort";

interface Round {
  readonly staged: Set<Link>;
  cutAfter?: number;
  reached: number;
}

export class MidRoundKill {
  #armed: KillPhase | undefined;
  #dead = false;
  readonly #rounds = new Map<number, Round>();
  readonly #codec = new FrameCodec();

  constructor(
    peer: Peer,
    private readonly random: Random,
    private readonly log: string,
  ) {
    const connect = peer.connect.bind(peer);
    peer.connect = (link, remote, options) => {
      const send = link.send.bind(link);
      link.send = (frame) => {
        if (this.#pass(link, frame)) send(frame);
      };
      connect(link, remote, options);
    };
  }

  /** From now on, the next multicast commit (abort) to two or more links kills this process. */
  arm(phase: KillPhase): void {
    this.#armed = phase;
  }

  get armed(): KillPhase | undefined {
    return this.#armed;
  }

  /** Whether `frame` may leave on `link`. */
  #pass(link: Link, frame: Uint8Array): boolean {
    if (this.#dead) return false;
    if (this.#armed === undefined) return true;
    const decoded = this.#codec.decodeFrame(frame);
    if (!decoded.ok) return true;
    const f = decoded.frame;
    if (f.type === "stage") this.#round(f.event).staged.add(link);
    else if (f.type === "stages") for (const e of f.events) this.#round(e).staged.add(link);
    else if (this.#armed === "commit" && f.type === "commit") return this.#cut([f.event], f.type);
    else if (this.#armed === "commit" && f.type === "commits") return this.#cut(f.events, f.type);
    else if (this.#armed === "abort" && f.type === "abort") return this.#cut([f.event], f.type);
    return true;
  }

  #round(event: number): Round {
    const known = this.#rounds.get(event);
    if (known !== undefined) return known;
    const r: Round = { staged: new Set(), reached: 0 };
    this.#rounds.set(event, r);
    return r;
  }

  #cut(events: readonly number[], type: string): boolean {
    const rounds = events
      .map((e) => [e, this.#rounds.get(e)] as const)
      .filter(([, r]) => (r?.staged.size ?? 0) >= 2);
    for (const [, r] of rounds) r!.cutAfter ??= this.random.int(1, r!.staged.size - 1);
    const hit = rounds.find(([, r]) => r!.reached >= r!.cutAfter!);
    if (hit === undefined) {
      for (const [, r] of rounds) r!.reached++;
      return true;
    }
    const [event, r] = hit;
    this.#dead = true;
    const line = {
      t: Date.now(),
      pid: process.pid,
      phase: this.#armed,
      frame: type,
      event,
      reached: r!.reached,
      staged: r!.staged.size,
    };
    appendFileSync(this.log, `${JSON.stringify(line)}\n`);
    setImmediate(() => process.kill(process.pid, "SIGKILL"));
    return false;
  }
}
