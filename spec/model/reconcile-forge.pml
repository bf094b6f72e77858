/*
 * Signed finals (design note): a hostile co-destination forges `committed`. S multicasts
 * e0 -> {D, X, F}; its caller may abort e0 while undecided; S may crash at any step. The
 * sessions of S with D, X and F may end at any point where the destination holds e0 staged.
 * F follows the protocol except that it may answer any query with `committed(9)`, a final S
 * never signed (S decides at most 2 here; or S aborted e0, or never decided it). D and X verify
 * the signature: a forged answer is a protocol error that ends the session with F (F is given
 * up). F's own deliveries and drops are not checked.
 */
#define NP 4
#define LINKCAP 3
#define STOPPERS BIT(0)
#define EXPIRE_PAIRS (BIT(0 * NP + 1) | BIT(0 * NP + 2) | BIT(0 * NP + 3))
#define FORGER 3

#include "reconcile.pml"

#define S 0
#define D 1
#define X 2
#define F 3

inline setup() {
  defev(0, S, K_ROUND, BIT(D) | BIT(X) | BIT(F), NONE);   /* e0 */
  abortable(0)
}

inline choose() {
  skip
}

#include "reconcile-run.pml"
