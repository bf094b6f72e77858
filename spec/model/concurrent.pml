/*
 * Skeen's core case: two concurrent multicasts to the same two peers, proposed in opposite
 * orders, plus an event caused by one of them. P1 (both destinations agree) and P2.
 * A: m0 -> {P, Q}. B: m1 -> {P, Q}. P, on delivering m0, sends m2 -> Q (fast).
 */
#define NP 4
#define LINKCAP 3

#include "capbus.pml"

#define A 0
#define B 1
#define P 2
#define Q 3

inline setup() {
  give(A, P, 1);
  give(A, Q, 1);
  give(B, P, 1);
  give(B, Q, 1);
  give(P, Q, 1);
  defev(0, A, K_ROUND, BIT(P) | BIT(Q), NONE, NONE);  /* m0 */
  defev(1, B, K_ROUND, BIT(P) | BIT(Q), NONE, NONE);  /* m1 */
  defev(2, P, K_FAST, BIT(Q), NONE, 0)                /* m2, caused by delivering m0 */
}

inline choose() {
  skip
}

#include "run.pml"
