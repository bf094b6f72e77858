/*
 * Transfer to a third peer ordered against destruction (§9, §11, trap 2).
 * P owns node P; A holds a handle to it and to B's node.
 * A: m0 -> {B, P} (a multicast), then t: a message to B carrying A's handle to node P (a
 * transfer: P gets a notice). P: destroy(P), at any time. B, on delivering t, sends m3 -> P
 * on the handle it received (fails at once if that handle arrived dead).
 */
#define NP 3
#define LINKCAP 3

#include "capbus.pml"

#define A 0
#define B 1
#define P 2

inline setup() {
  give(A, B, 1);
  give(A, P, 1);
  defev(0, A, K_ROUND, BIT(B) | BIT(P), NONE, NONE);  /* m0 */
  defev(1, A, K_ROUND, BIT(B), P, NONE);              /* t: carries node P to B */
  defev(2, P, K_DESTROY, 0, P, NONE);                 /* d: destroy(node P) */
  defev(3, B, K_FAST, BIT(P), NONE, 1)                /* m3 on the received handle */
}

inline choose() {
  skip
}

#include "run.pml"
