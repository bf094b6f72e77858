/*
 * Batches against a destroy (design note B1, B9; §9): P destroys its node while A sends it a
 * round batch b0 = {a1 -> P, a2 -> Q} and then a fast batch b1 = {a3 -> P, a4 -> P}, held back
 * by B4 until b0 is decided. P holds a whole batch frame that arrives inside its pick window and
 * answers it after the pick (`dead` above td for a stage, E_DESTROYED for a fast batch); a2 is
 * delivered at Q either way (P4's excuse: P's node was destroyed before a1 in the order).
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
  defev(0, A, K_FAST, BIT(P), NONE, NONE);   /* a1 */
  defev(1, A, K_FAST, BIT(Q), NONE, NONE);   /* a2 */
  inbatch(1, 0);
  defev(2, A, K_FAST, BIT(P), NONE, NONE);   /* a3 */
  defev(3, A, K_FAST, BIT(P), NONE, NONE);   /* a4 */
  inbatch(3, 2);
  defev(4, P, K_DESTROY, 0, P, NONE)         /* destroy(P) */
}

inline choose() {
  skip
}

#include "run.pml"
