/**
 * The switch for issue 22 (destinations reconcile a multicast whose sender died), read here and
 * nowhere else: with it on, the property test runs senders crashed mid-commit and mid-abort
 * (workload kinds `crashMidCommit`, `crashMidAbort`) and checks every run in strict atomicity
 * (spec/trace.md §4.3), and the chaos harness fails a run on strict violations. Off until the
 * reconciliation lands in packages/core, where today's peers split such multicasts (window W1);
 * `CAPBUS_RECONCILE=1` turns it on. At the merge of the reconciliation this becomes
 * `process.env.CAPBUS_RECONCILE !== "0"`: on by default, `CAPBUS_RECONCILE=0` for the old rule.
 */
export const RECONCILE: boolean = process.env.CAPBUS_RECONCILE === "1";
