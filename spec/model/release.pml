/*
 * Release counting (§10) against a transfer and a destroy.
 * A holds a handle to P's node and to B's. A: t = (-> B, carrying node P), then releases its
 * handle to node P. B, on delivering t, releases the handle it got. P: destroy(P), or not.
 * The owner's `released` must not fire while anyone holds a live handle, nor after the destroy.
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
  defev(0, A, K_ROUND, BIT(B), P, NONE);     /* t */
  defev(1, A, K_RELEASE, 0, P, NONE);        /* A releases node P */
  defev(2, B, K_RELEASE, 0, P, 0)            /* B releases node P after t */
}

inline choose() {
  if
  :: skip
  :: defev(3, P, K_DESTROY, 0, P, NONE)      /* P may also destroy its node */
  fi
}

#include "run.pml"
