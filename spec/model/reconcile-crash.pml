/*
 * Reconciliation with two destinations (design note T2-T4, R5). S multicasts e0 -> {D, X}; S may
 * crash at any step: before deciding, between its two commits, or between its two aborts (its
 * caller may abort e0 while undecided). The sessions S-D and S-X may end at any point where the
 * destination holds e0 staged (stage timeout, with S alive or not), and the session D-X may
 * break (a partition). X, on delivering e0, sends e1 -> D (a fast unicast), or sends it at any
 * time (chosen at the start); X's clock starts at 0 or 2 (history not modelled), so the final
 * may lie above D's proposal, at it, or S may decide without D below it.
 */
#define NP 3
#define LINKCAP 3
#define STOPPERS 1
#define EXPIRE_PAIRS (BIT(0 * NP + 1) | BIT(0 * NP + 2))
#define BREAK_PAIRS BIT(1 * NP + 2)

#include "reconcile.pml"

#define S 0
#define D 1
#define X 2

inline setup() {
  defev(0, S, K_ROUND, BIT(D) | BIT(X), NONE);   /* e0 */
  abortable(0);
  defev(1, X, K_FAST, BIT(D), 0)                 /* e1, caused by delivering e0 */
}

inline choose() {
  if
  :: C[X] = 0
  :: C[X] = 2
  fi;
  if
  :: skip
  :: ev_trig[1] = NONE   /* e1 at any time: it may reach D before e0's stage */
  fi
}

#include "reconcile-run.pml"
