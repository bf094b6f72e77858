/*
 * Trap 1 across batches (design note B4, P2): e1 = m0 to P in batch b, e2 = m1 to Q in batch
 * b' >= b, e3 = m2 caused by m1 at Q: P must deliver m0 before m2. m0 is a multicast to P and R,
 * and R starts with clock 0 or 2 (history not modelled), so R's proposal may lift F_b above
 * anything P has seen ("staged is not enough"). Three shapes, chosen at the start:
 *   same:  b = {m0 -> {P, R}, m1 -> Q}, one round batch (b' = b);
 *   fast:  b = {m0 -> {P, R}}, b' = {m1 -> Q} a fast batch, held back by B4 until b is decided;
 *   round: b = {m0 -> {P, R}}, b' = {m1 -> Q} a round batch (a unicast that may be aborted),
 *          staged at once, pipelined with b, decided after it (B4).
 */
#define NP 4
#define LINKCAP 3

#include "capbus.pml"

#define A 0
#define P 1
#define Q 2
#define R 3

inline setup() {
  give(A, P, 1);
  give(A, Q, 1);
  give(A, R, 1);
  give(Q, P, 1);
  defev(0, A, K_ROUND, BIT(P) | BIT(R), NONE, NONE);  /* m0 */
  defev(1, A, K_FAST, BIT(Q), NONE, NONE);            /* m1 */
  defev(2, Q, K_FAST, BIT(P), NONE, 1)                /* m2, caused by delivering m1 */
}

inline choose() {
  if
  :: C[R] = 0
  :: C[R] = 2
  fi;
  if
  :: inbatch(1, 0)              /* same */
  :: skip                       /* fast */
  :: ev_kind[1] = K_ROUND       /* round */
  fi
}

#include "run.pml"
