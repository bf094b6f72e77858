/*
 * A handle passed on: A gives B a handle to P's node, B on delivering it passes it on to C,
 * while P destroys the node. C becomes a holder through B's transfer at any point of P's
 * destroy round (before the call, between call and pick start, while P holds, after the pick).
 */
#define NP 4
#define LINKCAP 3

#include "capbus.pml"

#define A 0
#define B 1
#define C_ 2
#define P 3

inline setup() {
  give(A, B, 1);
  give(A, P, 1);
  give(B, C_, 1);
  defev(0, A, K_ROUND, BIT(B), P, NONE);    /* t1: A -> B carrying node P */
  defev(1, B, K_ROUND, BIT(C_), P, 0);      /* t2: B -> C carrying node P, after t1 */
  defev(2, P, K_DESTROY, 0, P, NONE)        /* destroy(P) */
}

inline choose() {
  skip
}

#include "run.pml"
