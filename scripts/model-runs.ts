/**
 * What the model check runs (spec/verification.md): every configuration of the Promela model in
 * spec/model/ must pass spin's exhaustive search, and every mutation (one rule of
 * spec/ordering.md broken through a -D switch) must be caught on the configuration listed.
 * Shared by scripts/model-check.ts (the runner) and test/model.test.ts.
 */
import { fileURLToPath } from "node:url";

/** spec/model/, where the configurations and the shared model files live. */
export const MODEL_DIR = fileURLToPath(new URL("../spec/model/", import.meta.url));

export interface ModelConfig {
  /** file name without `.pml` */
  readonly name: string;
  readonly covers: string;
  /** by far the largest search: scheduled first so the others run beside it */
  readonly heavy?: boolean;
}

export interface Mutation {
  readonly name: string;
  /** the switches passed to `spin -a` */
  readonly defines: readonly string[];
  /** the rule it breaks */
  readonly rule: string;
  /** the configuration that must catch it */
  readonly config: string;
}

export const CONFIGS: readonly ModelConfig[] = [
  { name: "trap1-unicast", covers: "trap 1, m0 a fast unicast: R1/R2, fast path, P2" },
  { name: "trap1-multicast", covers: "trap 1, m0 a multicast (staged is not enough): R1, D1, P2" },
  { name: "concurrent", covers: "two concurrent multicasts to the same peers: P1, P2, D1" },
  { name: "transfer-destroy", covers: "multicast + transfer + destroy + send on the received handle: P1-P5" },
  { name: "transfer-chain", covers: "a handle passed on A->B->C while P destroys: pick start, hold, P5" },
  {
    name: "cross-destroy",
    covers: "two owners destroy while passing each other's node: no deadlock, P5",
    heavy: true,
  },
  {
    name: "release",
    covers: "release counting against a transfer and a destroy (or none): spec/ordering.md §10",
  },
  { name: "expiry", covers: "a sender that stops mid-round; session expiry drops its staged entries: P4" },
  {
    name: "batch-trap1",
    covers: "trap 1 across batches (e2 in b, in a held fast batch b+1, in a pipelined round b+1): B3, B4, P2",
  },
  {
    name: "batch-round",
    covers:
      "a round batch (two entries per participant) against a concurrent round; abort inside it; R3: P1-P4",
  },
  {
    name: "batch-prefix",
    covers: "a fast batch held by B4 keeps taking events (B5) or goes as the fast prefix (B6); trap 1: P2",
  },
  { name: "batch-destroy", covers: "a round and a fast batch held in a destroy's pick window (B9): P4, P5" },
  {
    name: "reconcile-crash",
    covers:
      "issue 22: a sender crashing between commits or aborts, two destinations reconcile (T2-T4, R5), a partition: P4 under crash, one final, queue order",
  },
  {
    name: "reconcile-relay",
    covers:
      "issue 22: three destinations, the sender and one destination crash (the relay case, R5): P4 with no fallback excuse",
    heavy: true,
  },
  {
    name: "reconcile-forge",
    covers:
      "issue 22: a co-destination forging `committed`, refused by the signature: one final, aborted nowhere",
    heavy: true,
  },
];

export const MUTATIONS: readonly Mutation[] = [
  {
    name: "no-R1-wait",
    defines: ["MUT_NO_R1"],
    rule: "spec/ordering.md §4 R1/R2: decide or put on the wire without waiting for earlier events",
    config: "trap1-unicast",
  },
  {
    name: "no-R1-wait/multicast",
    defines: ["MUT_NO_R1"],
    rule: "spec/ordering.md §4 R1: same, m0 a multicast",
    config: "trap1-multicast",
  },
  {
    name: "no-D1-staged-check",
    defines: ["MUT_NO_D1"],
    rule: "spec/ordering.md §7 D1: deliver the lowest committed entry, ignoring staged ones",
    config: "concurrent",
  },
  {
    name: "min-final",
    defines: ["MUT_MIN_FINAL"],
    rule: "spec/ordering.md §3.3: final = min(C + 1, proposals) instead of max",
    config: "concurrent",
  },
  {
    name: "min-final/no-commit-check",
    defines: ["MUT_MIN_FINAL", "MUT_NO_COMMIT_CHECK"],
    rule: "spec/ordering.md §3.3 min instead of max, and spec/ordering.md §3.4's check off: the properties alone catch it",
    config: "concurrent",
  },
  {
    name: "fast-path-no-clock",
    defines: ["MUT_FAST_NO_CLOCK"],
    rule: "spec/ordering.md §6: the receiver ignores the sender's clock in a unicast frame",
    config: "trap1-multicast",
  },
  {
    name: "owner-left-out",
    defines: ["MUT_NO_NOTICE"],
    rule: "spec/ordering.md §11: no notice to the owner of a carried node (no counting, no dead answer)",
    config: "transfer-destroy",
  },
  {
    name: "owner-left-out/release",
    defines: ["MUT_NO_NOTICE"],
    rule: "spec/ordering.md §11/spec/ordering.md §10: same, seen by release counting",
    config: "release",
  },
  {
    name: "no-restage-at-pick-start",
    defines: ["MUT_NO_RESTAGE"],
    rule: "spec/ordering.md §9 step 2: the destroy's destinations are the holders at the call only",
    config: "transfer-destroy",
  },
  {
    name: "no-hold",
    defines: ["MUT_NO_HOLD"],
    rule: "spec/ordering.md §9 step 2: answer frames normally between pick start and pick",
    config: "transfer-destroy",
  },
  {
    name: "no-tombstone",
    defines: ["MUT_NO_TOMBSTONE"],
    rule: "spec/ordering.md §9 delivery: forget a destroy of a node not held",
    config: "transfer-destroy",
  },
  {
    name: "dead-list-ignored",
    defines: ["MUT_DEAD_IGNORED"],
    rule: "spec/ordering.md §11: the receiver ignores the nodes the commit lists dead",
    config: "transfer-chain",
  },
  {
    name: "no-expiry",
    defines: ["MUT_NO_EXPIRY"],
    rule: "trap 3 timeout rule: a staged entry from a stopped sender is never dropped",
    config: "expiry",
  },
  {
    name: "batch-out-of-order",
    defines: ["MUT_BATCH_ORDER"],
    rule: "B1: a batch's events tie-break in reverse of send order",
    config: "batch-round",
  },
  {
    name: "no-B4-wait",
    defines: ["MUT_NO_R1"],
    rule: "B4: decide a batch, or put a fast batch on the wire, without waiting for earlier batches",
    config: "batch-trap1",
  },
  {
    name: "no-B4-wait/prefix",
    defines: ["MUT_NO_R1"],
    rule: "B4, B6: same, the fast prefix and the next batch on the wire at once",
    config: "batch-prefix",
  },
  {
    name: "final-per-destination",
    defines: ["MUT_FINAL_PER_DEST"],
    rule: "B2, B3: each participant's commit carries max(C + 1, its own proposal), not one F_b",
    config: "batch-round",
  },
  {
    name: "fast-batch-no-clock",
    defines: ["MUT_FAST_NO_CLOCK"],
    rule: "B2: the receiver of a fast batch ignores the sender's clock (F not above it)",
    config: "batch-trap1",
  },
  {
    name: "decide-no-clock",
    defines: ["MUT_DECIDE_NO_CLOCK"],
    rule: "B3: F_b = max(proposals), the sender's own clock left out",
    config: "batch-trap1",
  },
  {
    name: "no-R3",
    defines: ["MUT_NO_R3"],
    rule: "spec/ordering.md §3.3 R3: a refused entry is not aborted at the other destinations",
    config: "batch-round",
  },
  {
    name: "abort-ignored",
    defines: ["MUT_ABORT_IGNORED"],
    rule: "spec/ordering.md §3.5, B8: a destination ignores abort (the entry stays staged)",
    config: "batch-round",
  },
  {
    name: "fenced-at-once",
    defines: ["MUT_FENCED_AT_ONCE"],
    rule: "reconcile T3: answer `fenced` at once while the session with the sender is alive (no deferral)",
    config: "reconcile-crash",
  },
  {
    name: "commit-at-own-proposal",
    defines: ["MUT_OWN_PROPOSAL"],
    rule: "reconcile T4: commit at one's own proposal instead of the final answered",
    config: "reconcile-crash",
  },
  {
    name: "forget-final-at-delivery",
    defines: ["MUT_FORGET_AT_DELIVERY"],
    rule: "reconcile T3: forget the retained final at delivery (answer `gone` after it)",
    config: "reconcile-crash",
  },
  {
    name: "no-block-while-asking",
    defines: ["MUT_NO_BLOCK"],
    rule: "reconcile T2: set the entry aside while asking instead of keeping the queue blocked",
    config: "reconcile-crash",
  },
  {
    name: "no-final-check",
    defines: ["MUT_NO_FINAL_CHECK"],
    rule: "reconcile T4: commit at a final below one's own proposal (no final >= proposal check)",
    config: "reconcile-crash",
  },
  {
    name: "gone-if-never-staged",
    defines: ["MUT_GONE_UNSEEN"],
    rule: "reconcile T3 as the design note words it: `gone` for an event never staged, while its stage may still be on the way",
    config: "reconcile-crash",
  },
  {
    name: "fallback-window",
    defines: ["STRICT_P4"],
    rule: "P4 with no fallback excuse: a partition between destinations makes the remaining window reachable (and counted)",
    config: "reconcile-crash",
  },
  {
    name: "drop-unless-all-committed",
    defines: ["MUT_ALL_COMMITTED"],
    rule: "reconcile T4: commit only if every other receiver answered `committed`, else drop",
    config: "reconcile-relay",
  },
  {
    name: "drop-at-first-fenced",
    defines: ["MUT_DROP_AT_FENCED"],
    rule: "reconcile T4: drop at the first `fenced` answer",
    config: "reconcile-relay",
  },
  {
    name: "no-relay",
    defines: ["MUT_NO_RELAY"],
    rule: "reconcile R5: a receiver that answered `fenced` and later commits tells nobody",
    config: "reconcile-relay",
  },
  {
    name: "give-up-at-once",
    defines: ["MUT_FAST_GIVEUP"],
    rule: "reconcile T4: a crashed receiver given up while frames are in flight (detection faster than a relay's round trip)",
    config: "reconcile-relay",
  },
  {
    name: "no-signature-check",
    defines: ["MUT_NO_VERIFY"],
    rule: "reconcile signed finals: accept a `committed` answer without verifying S's signature",
    config: "reconcile-forge",
  },
];
