/**
 * Cumulative answers (spec/ordering.md §14, B7). A receiver holds its accepts and round-batch
 * proposals to one sender until the end of the turn, then answers all of them in one `accepts`
 * and one `proposals` frame. The turn ends at the runtime's `defer` (Node: setImmediate), after
 * the promise callbacks the turn started, so an application's reply is among them: a fast frame
 * this peer sends that sender before then carries the held accepts (`accepted`) instead of a
 * frame of their own. Every other answer goes at once, as before.
 */
import type { Answer, BatchRefusalEntry } from "./inbound.js";
import type { LinkSession } from "./session.js";

/** Events `event` to `event + count - 1` of the answered peer, committed at `lamport`. */
export type AcceptedRun = [event: number, count: number, lamport: number];

/** What is held for one session. */
interface Held {
  runs: AcceptedRun[];
  /** Refused events of the fast batches in `runs`: such accepts go in their own frame. */
  readonly refusals: BatchRefusalEntry[];
  /** Round batches proposed, `[batch, lamport]`, with their refusals and destroyed nodes. */
  readonly proposals: [number, number][];
  readonly proposalRefusals: BatchRefusalEntry[];
  readonly destroyed: [number, number[]][];
}

export class HeldAnswers {
  readonly #local: string;
  readonly #defer: (fn: () => void) => void;
  readonly #held = new Map<LinkSession, Held>();
  #scheduled = false;

  /** `local`: this peer's id (its answers to itself are not held); `defer` ends the turn. */
  constructor(local: string, defer: (fn: () => void) => void) {
    this.#local = local;
    this.#defer = defer;
  }

  /** Answer on `session`: an accept or proposals is held until the end of the turn, the rest go now. */
  reply(session: LinkSession, answer: Answer): void {
    if (session.remote === this.#local) return session.send(answer);
    switch (answer.type) {
      case "accept":
        this.#for(session).runs.push([answer.event, 1, answer.lamport]);
        break;
      case "accepts": {
        const held = this.#for(session);
        held.runs.push([answer.event, answer.count, answer.lamport]);
        for (const r of answer.refusals) held.refusals.push(r);
        break;
      }
      case "proposals": {
        const held = this.#for(session);
        held.proposals.push([answer.event, answer.lamport]);
        for (const r of answer.refusals) held.proposalRefusals.push(r);
        for (const d of answer.destroyed) held.destroyed.push(d);
        break;
      }
      default:
        return session.send(answer);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#defer(() => {
        this.#scheduled = false;
        this.flushAll();
      });
    }
  }

  /**
   * The accepts held for `session`, taken to ride on a fast frame about to go to it; undefined
   * when none is held, or when refusals are held with them (those go in an `accepts` of their own).
   */
  take(session: LinkSession): AcceptedRun[] | undefined {
    const held = this.#held.get(session);
    if (held === undefined || held.runs.length === 0 || held.refusals.length > 0) return undefined;
    const runs = held.runs;
    held.runs = [];
    if (held.proposals.length === 0) this.#held.delete(session);
    return runs;
  }

  /** Runs taken for a frame the session then refused (backpressure, too large): held again. */
  restore(session: LinkSession, runs: readonly AcceptedRun[]): void {
    const held = this.#for(session);
    held.runs = [...runs, ...held.runs];
  }

  /** Write everything held, one `accepts` (or `accept`) and one `proposals` frame per session. */
  flushAll(): void {
    if (this.#held.size === 0) return;
    const all = [...this.#held];
    this.#held.clear();
    for (const [session, held] of all) if (!session.closed) write(session, held);
  }

  #for(session: LinkSession): Held {
    let held = this.#held.get(session);
    if (held === undefined) {
      held = { runs: [], refusals: [], proposals: [], proposalRefusals: [], destroyed: [] };
      this.#held.set(session, held);
    }
    return held;
  }
}

function write(session: LinkSession, held: Held): void {
  const [run, ...more] = held.runs;
  if (run !== undefined) {
    const [event, count, lamport] = run;
    // One unicast's accept alone: today's frame.
    if (count === 1 && more.length === 0 && held.refusals.length === 0)
      session.send({ type: "accept", event, lamport });
    else {
      const refusals = held.refusals;
      session.send({
        type: "accepts",
        event,
        count,
        lamport,
        refusals,
        ...(more.length > 0 ? { more } : {}),
      });
    }
  }
  const [first, ...rest] = held.proposals;
  if (first !== undefined) {
    session.send({
      type: "proposals",
      event: first[0],
      lamport: first[1],
      refusals: held.proposalRefusals,
      destroyed: held.destroyed,
      ...(rest.length > 0 ? { more: rest } : {}),
    });
  }
}
