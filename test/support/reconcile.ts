/**
 * The switch for issue 22 (destinations reconcile a multicast whose sender died), read here and
 * nowhere else: with it on, the property test runs senders crashed mid-commit and mid-abort
 * (workload kinds `crashMidCommit`, `crashMidAbort`) and checks every run in strict atomicity
 * (spec/trace.md §4.3), and the chaos harness fails a run on strict violations. On by default
 * since the core reconciles (spec/ordering.md §16); `CAPBUS_RECONCILE=0` runs the lenient check
 * without those crashes, as before it (to compare with a peer of the older rule).
 */
export const RECONCILE: boolean = process.env.CAPBUS_RECONCILE !== "0";
