/**
 * The attacks (issue 17, findings 1-10): what each does, what the attacker holds, and which
 * bounds it must meet (scripts/attack/bounds.ts; spec/security.md §5).
 */
import type { PeerProcess } from "@capbus/testkit";

/**
 * What the attacker holds. `pre-auth`: nothing, not even a handshake. `no capability`: an
 * authenticated session and nothing else. `capability`: a handle to the victim's `attack` node
 * (it claimed the capability URL).
 */
export type Access = "pre-auth" | "no capability" | "capability";

/** Bound checks beyond those every attack of its access gets. */
export type Extra = "descriptors" | "idle-sockets" | "newcomers" | "capability-less" | "clock-near-wall";

export interface AttackSpec {
  readonly name: string;
  /** The issue 17 finding it reproduces. */
  readonly finding: string;
  readonly access: Access;
  /** One line: what the attacker does. */
  readonly does: string;
  /**
   * Its effect scales with the victim's stage timeout: runs shorter than 100 s use the `short`
   * timeouts profile (stage timeout 8 s) unless --timeouts says otherwise.
   */
  readonly timed?: boolean;
  /** The prober also starts a fresh peer every 2 s (can a newcomer still get in?). */
  readonly newcomers?: boolean;
  readonly extra?: readonly Extra[];
  /**
   * Heap the victim may keep after a full GC once the attack is over, compared with just before
   * it: `fixed` bytes (noise, bounded tables) plus `perSession` for each attacker session
   * (`figures.sessions`). Unset: not checked.
   */
  readonly retained?: { readonly fixed: number; readonly perSession: number };
  /**
   * The attacker tells `warmed` after a warm-up: the victim's heap is marked again then, and only
   * sessions after it count; the heap kept is measured as data (from heap snapshots, compiled code
   * and V8's metadata left out), so code V8 compiles for the attack's paths is not taken for a leak.
   */
  readonly warmup?: boolean;
  /** Seconds of the short run in `npm run test:attack`. */
  readonly testSeconds: number;
  /** Steps the harness takes during the run (e.g. have the victim destroy a node). */
  orchestrate?(processes: { victim: PeerProcess; attacker: PeerProcess }): Promise<void>;
}

const MB = 1024 * 1024;

export const ATTACKS: readonly AttackSpec[] = [
  {
    name: "baseline",
    finding: "-",
    access: "pre-auth",
    does: "nothing: the prober alone, to show what the machine gives (its noise)",
    extra: ["capability-less"],
    testSeconds: 5,
  },
  {
    name: "preauth-cpu",
    finding: "1",
    access: "pre-auth",
    does: "first frames that are maps of equal-length keys (720 KB and 16 MiB), one after another",
    testSeconds: 8,
  },
  {
    name: "preauth-memory",
    finding: "1",
    access: "pre-auth",
    does: "16 MiB first frames of empty maps (a hello whose versions are maps), one after another",
    testSeconds: 8,
  },
  {
    name: "clock-partition",
    finding: "2",
    access: "no capability",
    does: "destroys from the victim's clock: +4.5 s, +20 s, then +2^32 twice (the finding: honest peers refused it)",
    extra: ["clock-near-wall"],
    testSeconds: 8,
  },
  {
    name: "clock-exhaust",
    finding: "2",
    access: "no capability",
    does: "destroy+abort pairs at the victim's wall clock + 4.9 s, up to 20 000/s, 1 in 64 never decided",
    extra: ["clock-near-wall"],
    testSeconds: 6,
  },
  {
    name: "destroy-unheld",
    finding: "2",
    access: "no capability",
    does: "destroys of its own nodes 4.5 s ahead, 2 000/s: half committed, a quarter aborted, a quarter never",
    extra: ["clock-near-wall"],
    testSeconds: 6,
  },
  {
    name: "hints",
    finding: "3",
    access: "no capability",
    does: "endpoints frames about made-up peers, 16 URLs of 2 KB each, up to 60 MB/s",
    retained: { fixed: 16 * MB, perSession: 0 },
    testSeconds: 8,
  },
  {
    name: "decoded-size",
    finding: "4",
    access: "capability",
    does: "stage frames of 256 Ki empty maps each (~64x their size decoded), never committed",
    // Its queued messages, by what they cost in memory: half the queue (maxQueuedBytes 64 MiB) and slack.
    retained: { fixed: 48 * MB, perSession: 0 },
    testSeconds: 6,
  },
  {
    name: "ack-window",
    finding: "4",
    access: "no capability",
    does: "a session that never acks nor reads, flooding unicasts the victim rejects",
    // A session's unacknowledged and queued frames, counted in memory: maxUnackedBytes +
    // maxBufferedBytes (16 MiB each), and slack.
    retained: { fixed: 8 * MB, perSession: 32 * MB },
    testSeconds: 14,
  },
  {
    name: "head-of-line",
    finding: "5",
    access: "capability",
    does: "a stage every second, each committed 0.6 x the stage timeout later",
    timed: true,
    testSeconds: 15,
  },
  {
    name: "destroy-unanswered",
    finding: "6",
    access: "capability",
    does: "holds the victim's node and never answers the victim's destroy of it",
    timed: true,
    testSeconds: 12,
    async orchestrate({ victim, attacker }) {
      await attacker.next("claimed");
      victim.tell({ destroy: true });
    },
  },
  {
    name: "request-unanswered",
    finding: "7",
    access: "capability",
    does: "one request to the victim whose reply unicast it never accepts",
    timed: true,
    testSeconds: 12,
  },
  {
    name: "link-slots",
    finding: "8",
    access: "no capability",
    does: "fresh keys that handshake and drop the socket, 32 at a time, for the whole run",
    newcomers: true,
    extra: ["newcomers"],
    testSeconds: 8,
  },
  {
    name: "raw-sockets",
    finding: "8",
    access: "pre-auth",
    does: "TCP connections that send nothing, 1 000/s up to 8 000",
    extra: ["descriptors", "idle-sockets"],
    testSeconds: 8,
  },
  {
    name: "sybils",
    finding: "9",
    access: "capability",
    does: "key after key (up to 16) claims the URL and stages 1 KiB messages until refused E_QUOTA",
    testSeconds: 8,
  },
  {
    name: "leaks",
    finding: "10",
    access: "capability",
    does: "peers that import, send a handle, and close cleanly, four at a time",
    // Per session: its tombstone (kept 2 x stageTimeoutMs, spec/ordering.md §5) and its entry in the
    // lost-peers list (capped at 4,096): ~245 B of heap data (spec/security.md §5).
    retained: { fixed: 256 * 1024, perSession: 320 },
    warmup: true,
    testSeconds: 11,
  },
];

export function attackNamed(name: string): AttackSpec | undefined {
  return ATTACKS.find((a) => a.name === name);
}
