/*
 * Two owners that destroy their nodes while each passes the other's node to a third peer
 * (trap 2's deadlock case, and restaging at pick start on both sides).
 * P holds a handle to Q's node and Q to P's; both hold one to B's node.
 * P: t0 = (-> B, carrying node Q), then destroy(P). Q: destroy(Q), then t1 = (-> B, carrying P).
 */
#define NP 3
#define LINKCAP 5

#include "capbus.pml"

#define P 0
#define Q 1
#define B 2

inline setup() {
  give(P, Q, 1);
  give(Q, P, 1);
  give(P, B, 1);
  give(Q, B, 1);
  defev(0, P, K_ROUND, BIT(B), Q, NONE);   /* t0 */
  defev(1, P, K_DESTROY, 0, P, NONE);      /* destroy(P) */
  defev(2, Q, K_DESTROY, 0, Q, NONE);      /* destroy(Q) */
  defev(3, Q, K_ROUND, BIT(B), P, NONE)    /* t1 */
}

inline choose() {
  skip
}

#include "run.pml"
