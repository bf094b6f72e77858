/*
 * Round batches (design note B1-B3, B8; §3.3 R3). A sends one round batch
 * b = {a1 -> {P, Q}, a2 -> P, a3 -> Q}: P's stage frame lists a1 and a2, Q's lists a1 and a3;
 * each answers one proposal; the batch gets one F_b, and a1, a2 keep send order at P by seq.
 * A's caller may abort a3 while b is undecided (B8: the rest of b goes on). B concurrently
 * multicasts b1 -> {P, Q} (Skeen's core: P1). Q may refuse a stage frame's entries (E_QUOTA):
 * R3 then aborts each refused event at every destination that staged it.
 */
#define NP 4
#define LINKCAP 4
#define QUOTA_PEER 3

#include "capbus.pml"

#define A 0
#define B 1
#define P 2
#define Q 3

inline setup() {
  give(A, P, 1);
  give(A, Q, 1);
  give(B, P, 1);
  give(B, Q, 1);
  defev(0, A, K_ROUND, BIT(P) | BIT(Q), NONE, NONE);  /* a1 */
  defev(1, A, K_FAST, BIT(P), NONE, NONE);            /* a2 */
  defev(2, A, K_ROUND, BIT(Q), NONE, NONE);           /* a3, may be aborted */
  inbatch(1, 0);
  inbatch(2, 0);
  abortable(2);
  defev(3, B, K_ROUND, BIT(P) | BIT(Q), NONE, NONE)   /* b1 */
}

inline choose() {
  skip
}

#include "run.pml"
