/* The init process of the reconciliation model: set up a configuration, run its peers, check the
 * final state. */

#define HONEST(p) (!stopped[p] && (p) != FORGER)

inline finalcheck() {
  /* every reconciliation ended: nothing staged (asking included) or committed is left at a live
   * peer, and every event of a live sender is decided */
  p = 0;
  do
  :: p < NP ->
     e = 0;
     do
     :: e < MAXE ->
        Quiescent_no_staged_left = (stopped[p] || (QS(p, e) != Q_STAGED && QS(p, e) != Q_COMMITTED));
        assert(Quiescent_no_staged_left);
        e++
     :: else -> break
     od;
     p++
  :: else -> break
  od;
  e = 0;
  do
  :: e < MAXE ->
     if
     :: ev_snd[e] != NONE && !stopped[ev_snd[e]] ->
        Quiescent_all_decided = (bst[e] == S_IDLE || bst[e] == S_DONE);
        assert(Quiescent_all_decided)
     :: else -> skip
     fi;
     /* P4 under sender crash: if a live honest destination delivered e, every other one did,
      * unless (a) S decided without it (its proposal was not counted), or (b) it dropped e as a
      * fallback (a receiver given up) and every holder of e's final has crashed or cannot
      * reach it (its session with it ended): the remaining window, counted in nfb. Checked at
      * the end: sessions never reopen, so a holder unreachable now was unreachable then, and
      * one that committed after the drop counts against it */
     if
     :: ev_kind[e] == K_ROUND ->
        x = 0;
        p = 0;
        do
        :: p < NP ->
           if
           :: HONEST(p) && (ev_dst[e] & BIT(p)) && dpos[p * MAXE + e] != 0 -> x = 1
           :: else -> skip
           fi;
           p++
        :: else -> break
        od;
        p = 0;
        do
        :: p < NP ->
           if
           :: x && HONEST(p) && (ev_dst[e] & BIT(p)) && dpos[p * MAXE + e] == 0 ->
              n = 0;   /* a holder p could still reach */
              q = 0;
              do
              :: q < NP ->
                 if
                 :: q != p && (hold[e] & BIT(q)) && !stopped[q] && !closed[p * NP + q] -> n = 1
                 :: else -> skip
                 fi;
                 q++
              :: else -> break
              od;
              /* with a forger: a drop that gave it up (its answer failed verification) is a
               * fallback too, whoever learned the final from it later */
              P4_atomicity = ((sprp[e] & BIT(p)) == 0 || (fb[p * MAXE + e] && !n) ||
                              (FORGER != NONE && fb[p * MAXE + e] && (GVUP(p, e) & BIT(FORGER))));
              assert(P4_atomicity);
#ifdef STRICT_P4
              /* P4 with no fallback excuse: must hold without partitions or forgers */
              No_fallback = ((sprp[e] & BIT(p)) == 0);
              assert(No_fallback)
#endif
           :: else -> skip
           fi;
           p++
        :: else -> break
        od
     :: else -> skip
     fi;
     e++
  :: else -> break
  od
}

init {
  byte p, e, n, q, x;
  d_step {
    e = 0;
    do
    :: e < MAXE ->
       ev_snd[e] = NONE;
       ev_trig[e] = NONE;
       e++
    :: else -> break
    od;
    setup()
  };
  choose();
  d_step {   /* each sender's seq */
    e = 0;
    do
    :: e < MAXE ->
       if
       :: ev_snd[e] != NONE ->
          x = 0;
          n = 0;
          do
          :: n < e ->
             if
             :: ev_snd[n] == ev_snd[e] -> x++
             :: else -> skip
             fi;
             n++
          :: else -> break
          od;
          ev_seq[e] = x + 1
       :: else -> skip
       fi;
       e++
    :: else -> break
    od;
    e = 0;
    n = 0;
    x = 0
  };
  atomic {
    p = 0;
    do
    :: p < NP -> run peer(p); p++
    :: else -> break
    od;
    p = 0
  };
  timeout -> d_step { finalcheck() }
}
