/*
 * Reconciliation with three destinations and a second crash (design note T2-T4, R5, the relay
 * case). S multicasts e0 -> {P, Q, R}; S may crash at any step (before deciding, between any of
 * its three commits or aborts); P may crash at any step too (after committing, delivering and
 * answering one asker, say). The sessions of S with P, Q and R may end at any point where the
 * destination holds e0 staged; a session with a crashed destination ends when the other end
 * waits on it. No partitions: P4 must hold among the live destinations without the fallback
 * excuse (STRICT_P4), every drop of a delivered event excused by (a) alone.
 */
#define NP 4
#define LINKCAP 4
#define STOPPERS (BIT(0) | BIT(1))
#define EXPIRE_PAIRS (BIT(0 * NP + 1) | BIT(0 * NP + 2) | BIT(0 * NP + 3))
#define STRICT_P4

#include "reconcile.pml"

#define S 0
#define P 1
#define Q 2
#define R 3

inline setup() {
  defev(0, S, K_ROUND, BIT(P) | BIT(Q) | BIT(R), NONE);   /* e0 */
  abortable(0)
}

inline choose() {
  skip
}

#include "reconcile-run.pml"
