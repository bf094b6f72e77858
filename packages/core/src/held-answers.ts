/**
 * Cumulative answers (spec/ordering.md §14, B7). A receiver holds its accepts and round-batch
 * proposals to one sender until the end of the turn, then answers all of them in one `accepts`
 * and one `proposals` frame. The turn ends at the runtime's `defer` (Node: setImmediate), after
 * the promise callbacks the turn started, so an application's reply is among them: a fast frame
 * this peer sends that sender before then carries the held accepts (`accepted`) instead of a
 * frame of their own. Every other answer goes at once, as before.
 *
 * What is held for a session lives as long as the session (one object, reused turn after turn:
 * a request/reply exchange holds one accept per turn and must not allocate a holder for it).
 */
import type { Answer, BatchRefusalEntry, Reply } from "./inbound.js";
import type { LinkSession } from "./session.js";

/** Events `event` to `event + count - 1` of the answered peer, committed at `lamport`. */
export type AcceptedRun = [event: number, count: number, lamport: number];

/** What is held for one session, kept with it. */
class Held {
  readonly session: LinkSession;
  /** Answers every frame of the session: holds accepts and proposals, sends the rest. */
  readonly reply: Reply;
  runs: AcceptedRun[] = [];
  /** Refused events of the fast batches in `runs`: such accepts go in their own frame. */
  refusals: BatchRefusalEntry[] = [];
  /** Round batches proposed, `[batch, lamport]`, with their refusals and destroyed nodes. */
  proposals: [number, number][] = [];
  proposalRefusals: BatchRefusalEntry[] = [];
  destroyed: [number, number[]][] = [];
  /** In the list of sessions with something held this turn (this is its last, or `next` follows). */
  due = false;
  next: Held | undefined = undefined;

  constructor(session: LinkSession, reply: (held: Held, answer: Answer) => void) {
    this.session = session;
    this.reply = (answer) => reply(this, answer);
  }

  get empty(): boolean {
    return this.runs.length === 0 && this.proposals.length === 0;
  }
}

export class HeldAnswers {
  readonly #local: string;
  readonly #defer: (fn: () => void) => void;
  readonly #bySession = new WeakMap<LinkSession, Held>();
  /** Sessions with answers held this turn, a list through `Held.next` (no array per turn). */
  #dueFirst: Held | undefined = undefined;
  #dueLast: Held | undefined = undefined;
  #scheduled = false;
  /** The end of the turn, one function for every turn. */
  readonly #endTurn = () => {
    this.#scheduled = false;
    this.flushAll();
  };

  /** `local`: this peer's id (its answers to itself are not held); `defer` ends the turn. */
  constructor(local: string, defer: (fn: () => void) => void) {
    this.#local = local;
    this.#defer = defer;
  }

  /** How frames of `session` are answered (one function per session, not one per frame). */
  replyFor(session: LinkSession): Reply {
    return this.#for(session).reply;
  }

  /** An answer on `held`'s session: an accept or proposals is held to the end of the turn, the rest go now. */
  readonly #reply = (held: Held, answer: Answer): void => {
    const session = held.session;
    if (session.remote === this.#local) return session.send(answer);
    switch (answer.type) {
      case "accept":
        // The common case, one accept in the turn: an array of one, not a grown one.
        if (held.runs.length === 0) held.runs = [[answer.event, 1, answer.lamport]];
        else held.runs.push([answer.event, 1, answer.lamport]);
        break;
      case "accepts":
        held.runs.push([answer.event, answer.count, answer.lamport]);
        for (const r of answer.refusals) held.refusals.push(r);
        break;
      case "proposals":
        held.proposals.push([answer.event, answer.lamport]);
        for (const r of answer.refusals) held.proposalRefusals.push(r);
        for (const d of answer.destroyed) held.destroyed.push(d);
        break;
      default:
        return session.send(answer);
    }
    this.#markDue(held);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#defer(this.#endTurn);
    }
  };

  /**
   * The accepts held for `session`, taken to ride on a fast frame about to go to it; undefined
   * when none is held, or when refusals are held with them (those go in an `accepts` of their own).
   */
  take(session: LinkSession): AcceptedRun[] | undefined {
    const held = this.#bySession.get(session);
    if (held === undefined || held.runs.length === 0 || held.refusals.length > 0) return undefined;
    const runs = held.runs;
    held.runs = [];
    return runs;
  }

  /** Runs taken for a frame the session then refused (backpressure, too large): held again. */
  restore(session: LinkSession, runs: readonly AcceptedRun[]): void {
    const held = this.#for(session);
    held.runs = [...runs, ...held.runs];
    this.#markDue(held);
  }

  /**
   * The session ended: its entry goes now rather than at the next GC, so a burst of short
   * sessions does not leave the table sized for all of them.
   */
  forget(session: LinkSession): void {
    const held = this.#bySession.get(session);
    if (held === undefined || held.due) return; // a due one is dropped at the end of the turn
    this.#bySession.delete(session);
  }

  #markDue(held: Held): void {
    if (held.due) return;
    held.due = true;
    if (this.#dueLast === undefined) this.#dueFirst = held;
    else this.#dueLast.next = held;
    this.#dueLast = held;
  }

  /**
   * Write everything held, one `accepts` (or `accept`) and one `proposals` frame per session, and
   * have the session's link write them now: the end of the turn is where they go, not the link's
   * next flush, which may come a turn later (spec/transports.md §1.1).
   */
  flushAll(): void {
    let held = this.#dueFirst;
    this.#dueFirst = this.#dueLast = undefined;
    while (held !== undefined) {
      const next = held.next;
      held.next = undefined;
      held.due = false;
      if (held.empty || held.session.closed) clear(held);
      else {
        write(held);
        held.session.flush();
      }
      held = next;
    }
  }

  #for(session: LinkSession): Held {
    let held = this.#bySession.get(session);
    if (held === undefined) {
      held = new Held(session, this.#reply);
      this.#bySession.set(session, held);
    }
    return held;
  }
}

function clear(held: Held): void {
  if (held.runs.length > 0) held.runs = [];
  if (held.refusals.length > 0) held.refusals = [];
  if (held.proposals.length > 0) held.proposals = [];
  if (held.proposalRefusals.length > 0) held.proposalRefusals = [];
  if (held.destroyed.length > 0) held.destroyed = [];
}

/** The held answers as frames (taken out of `held`, which is left empty). */
function write(held: Held): void {
  const { session, runs, refusals, proposals, proposalRefusals, destroyed } = held;
  clear(held);
  const run = runs[0];
  if (run !== undefined) {
    const [event, count, lamport] = run;
    // One unicast's accept alone: today's frame.
    if (count === 1 && runs.length === 1 && refusals.length === 0)
      session.send({ type: "accept", event, lamport });
    else {
      const more = runs.slice(1);
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
  const first = proposals[0];
  if (first !== undefined) {
    const more = proposals.slice(1);
    session.send({
      type: "proposals",
      event: first[0],
      lamport: first[1],
      refusals: proposalRefusals,
      destroyed,
      ...(more.length > 0 ? { more } : {}),
    });
  }
}
