/*
 * Trap 1 (design note; spec §8 "Trap 1"), m0 a fast unicast.
 * A sends m0 to P (that link may be slow: any interleaving), then m1 to Q; Q, on delivering m1,
 * sends m2 to P. m0 -> m1 -> m2, so P must deliver m0 before m2 (P2).
 */
#define NP 3
#define LINKCAP 3

#include "capbus.pml"

#define A 0
#define P 1
#define Q 2

inline setup() {
  give(A, P, 1);
  give(A, Q, 1);
  give(Q, P, 1);
  defev(0, A, K_FAST, BIT(P), NONE, NONE);  /* m0 */
  defev(1, A, K_FAST, BIT(Q), NONE, NONE);  /* m1 */
  defev(2, Q, K_FAST, BIT(P), NONE, 1)      /* m2, caused by delivering m1 */
}

inline choose() {
  skip
}

#include "run.pml"
