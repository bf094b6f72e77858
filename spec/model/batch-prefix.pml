/*
 * A fast batch held back by B4, the batch it keeps open (B5) and the fast prefix (B6).
 * A: m0 -> Q, then m1 -> P, then m2 -> Q (three unicasts, each a turn of its own). m0 goes
 * as a fast batch. m1's fast batch may go at once only when m0 is decided (B4); until it goes it
 * stays open and m2 joins it, making {m1 -> P, m2 -> Q} a round batch staged at once (B5). When
 * m1 went first (the prefix B6 sends fast), m2 is a fast batch of its own, held until m1 is
 * accepted. Q, on delivering m2, sends m3 -> P: P must deliver m1 before m3 (trap 1 across
 * batches, whichever way the events were cut). P starts with clock 0 or 2.
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
  defev(0, A, K_FAST, BIT(Q), NONE, NONE);   /* m0 */
  defev(1, A, K_FAST, BIT(P), NONE, NONE);   /* m1 */
  defev(2, A, K_FAST, BIT(Q), NONE, NONE);   /* m2 */
  joins(2, 1);
  defev(3, Q, K_FAST, BIT(P), NONE, 2)       /* m3, caused by delivering m2 */
}

inline choose() {
  if
  :: C[P] = 0
  :: C[P] = 2
  fi
}

#include "run.pml"
