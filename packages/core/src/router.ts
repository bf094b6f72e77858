/**
 * The frame router: each session frame past the clock gate goes to the part of the peer that
 * owns its rule. Frames about this peer's own events (answers) go to the Sender; frames of other
 * peers' events (stage, unicast, commit and their batch forms) to Inbound; capability frames to
 * Capabilities; endpoint hints to Links.
 */
import type { Frame } from "@capbus/wire";
import type { Capabilities } from "./bootstrap.js";
import type { CoreErrorCode } from "./errors.js";
import type { AcceptedRun, HeldAnswers } from "./held-answers.js";
import type { Inbound, Reply } from "./inbound.js";
import type { Links } from "./links.js";
import type { Reconciler } from "./reconcile.js";
import type { Sender } from "./sender.js";
import type { LinkSession } from "./session.js";

/** The parts of a peer frames are routed to. */
export interface RouteTargets {
  readonly inbound: Inbound;
  readonly sender: Sender;
  readonly capabilities: Capabilities;
  readonly links: Links;
  readonly reconciler: Reconciler;
  /** Accepts and proposals held to the end of the turn (B7). */
  readonly answers: HeldAnswers;
}

/** Route one frame of `session`'s remote (hello and ack frames never get here with work to do). */
export function routeFrame(to: RouteTargets, session: LinkSession, frame: Frame, size: number): void {
  const from = session.remote as string;
  const reply: Reply = to.answers.replyFor(session);
  switch (frame.type) {
    case "stage":
      return to.inbound.stage(from, frame, reply, size);
    case "stages":
      return to.inbound.stages(from, frame, reply, size);
    case "notice":
      return to.inbound.notice(from, frame, reply);
    case "unicast":
      // Accepts riding on the frame (B7) were sent before it: taken first.
      if (frame.accepted !== undefined) to.sender.acceptedRuns(from, frame.accepted, NO_REFUSALS);
      return to.inbound.unicast(from, frame, reply, size);
    case "unicasts":
      if (frame.accepted !== undefined) to.sender.acceptedRuns(from, frame.accepted, NO_REFUSALS);
      return to.inbound.unicasts(from, frame, reply, size);
    case "release":
      return to.inbound.release(from, frame, reply);
    case "destroy":
      return to.inbound.destroy(from, frame, reply, size);
    case "commit":
      return to.inbound.commit(
        from,
        frame.event,
        frame.lamport,
        frame.dead,
        frame.sig && {
          lamport: frame.lamport,
          first: frame.event,
          last: frame.event,
          skip: [],
          dead: frame.dead,
          sig: frame.sig,
        },
      );
    case "commits":
      return to.inbound.commits(
        from,
        frame.events,
        frame.lamport,
        frame.sig && {
          first: frame.event,
          last: frame.last ?? frame.event,
          skip: frame.skip ?? [],
          sig: frame.sig,
        },
      );
    case "query":
      return to.reconciler.query(from, frame.sender, frame.event);
    case "committed":
    case "fenced":
    case "gone":
      return to.reconciler.answered(from, frame);
    case "abort":
      return to.inbound.abort(from, frame.event);
    case "propose":
    case "dead":
      return to.sender.proposed(frame.event, from, frame.lamport, frame.type === "dead" ? frame.nodes : []);
    case "proposals": {
      // One frame may propose several batches (B7); refusals and destroyed nodes name events.
      const refusals = frame.refusals.map(batchRefusal);
      to.sender.proposedBatch(from, frame.event, frame.lamport, refusals, frame.destroyed);
      for (const [batch, lamport] of frame.more ?? []) {
        to.sender.proposedBatch(from, batch, lamport, refusals, frame.destroyed);
      }
      return;
    }
    case "accept":
      return to.sender.accepted(frame.event, from, frame.lamport);
    case "accepts": {
      const runs: AcceptedRun[] = [[frame.event, frame.count, frame.lamport], ...(frame.more ?? [])];
      return to.sender.acceptedRuns(from, runs, frame.refusals.map(batchRefusal));
    }
    case "reject":
      if (to.capabilities.refused(from, frame.event, rejectCode(frame.code))) return;
      return to.sender.refused(frame.event, from, rejectCode(frame.code), frame.node);
    case "endpoints":
      // A peer's own endpoints are kept; a hint about a third peer only within the session's bounds.
      if (frame.peer === from) return to.links.learn(frame.peer, frame.urls);
      return to.links.hinted(session, frame.peer, frame.urls);
    case "claim":
      return session.send(to.capabilities.answer(from, frame.event, frame.secret));
    case "granted":
      return to.capabilities.granted(from, frame.event, frame.node);
    case "ack":
    case "hello":
    case "auth":
    case "close":
      return;
  }
}

const NO_REFUSALS: readonly never[] = Object.freeze([]);

const REMOTE_CODES: ReadonlySet<string> = new Set([
  "E_NO_NODE",
  "E_NO_HANDLE",
  "E_DESTROYED",
  "E_NO_EXPORT",
  "E_QUOTA",
]);

/** A code a remote refused with: one it may send, or E_PROTOCOL for anything else. */
export function rejectCode(code: string): CoreErrorCode {
  return REMOTE_CODES.has(code) ? (code as CoreErrorCode) : "E_PROTOCOL";
}

function batchRefusal(entry: readonly [number, string] | readonly [number, string, number]) {
  return { event: entry[0], code: rejectCode(entry[1]), node: entry[2] };
}
