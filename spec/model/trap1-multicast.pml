/*
 * Trap 1 with m0 a multicast to P and R ("staged is not enough"): R's proposal may lift m0's
 * final above anything P has seen. R starts with clock 0 or 2 (history we do not model).
 * A: m0 -> {P, R} (a round), then m1 -> Q (fast). Q, on delivering m1, sends m2 -> P (fast).
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
  fi
}

#include "run.pml"
