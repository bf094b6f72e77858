/*
 * A sender that stops mid-round, and the timeout rule (design note trap 3): a staged entry held
 * too long expires its sender's session, at both ends; staged entries from it are dropped,
 * committed ones delivered. A: m0 -> {P, Q} (a multicast), then m1 -> Q (fast). Q, on
 * delivering m0, sends m2 -> P. A may stop at any moment; the sessions A-P and A-Q may expire
 * whenever P or Q holds a staged entry from A (so also while A is alive but slow).
 */
#define NP 3
#define LINKCAP 3
#define STOPPER 0
#define EXPIRE_PAIRS (BIT(0 * NP + 1) | BIT(0 * NP + 2))

#include "capbus.pml"

#define A 0
#define P 1
#define Q 2

inline setup() {
  give(A, P, 1);
  give(A, Q, 1);
  give(Q, P, 1);
  defev(0, A, K_ROUND, BIT(P) | BIT(Q), NONE, NONE);  /* m0 */
  defev(1, A, K_FAST, BIT(Q), NONE, NONE);            /* m1 */
  defev(2, Q, K_FAST, BIT(P), NONE, 0)                /* m2, caused by delivering m0 */
}

inline choose() {
  skip
}

#include "run.pml"
