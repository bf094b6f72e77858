/* The init process: set up a configuration, run its peers, check the final state. */

/* ---------------- the final state ---------------- */

inline finalcheck() {
  /* nothing staged or committed is left; every called event is decided; nothing held */
  p = 0;
  do
  :: p < NP ->
     if
     :: !stopped[p] ->
        e = 0;
        do
        :: e < MAXE ->
           Quiescent_no_staged_left = !ACTIVE(p, e);
           assert(Quiescent_no_staged_left);
           e++
        :: else -> break
        od;
        Quiescent_no_staged_left = (held[p] == 0);
        assert(Quiescent_no_staged_left)
     :: else -> skip
     fi;
     p++
  :: else -> break
  od;
  e = 0;
  do
  :: e < MAXE ->
     if
     :: bsnd[e] != NONE && !stopped[bsnd[e]] ->
        Quiescent_all_decided = (bst[e] == S_IDLE || bst[e] == S_DONE);
        assert(Quiescent_all_decided)
     :: else -> skip
     fi;
     /* P4: a message delivered at one destination is delivered at each, unless excused */
     if
     :: (ev_kind[e] == K_ROUND || ev_kind[e] == K_FAST) ->
        x = 0;
        p = 0;
        do
        :: p < NP ->
           if
           :: (ev_dst[e] & BIT(p)) && dpos[p * MAXE + e] != 0 -> x = 1
           :: else -> skip
           fi;
           p++
        :: else -> break
        od;
        p = 0;
        do
        :: p < NP ->
           if
           :: x && (ev_dst[e] & BIT(p)) ->
              P4_atomicity = (dpos[p * MAXE + e] != 0 || stopped[p] || closed[ev_snd[e] * NP + p] ||
                              (tdk[p] != 0 && tdk[p] < KEY(bfin[ev_bat[e]], e)));
              assert(P4_atomicity)
           :: else -> skip
           fi;
           p++
        :: else -> break
        od
     :: else -> skip
     fi;
     e++
  :: else -> break
  od;
  /* P5: after a destroy, nobody holds a live handle; the owner got exactly one notification.
   * Release counting (§10): for a live node the owner's counts equal the references held. */
  n = 0;
  do
  :: n < NP ->
     if
     :: stopped[n] -> skip
     :: tdk[n] != 0 ->
        P5_notification = (notif[n * NP + n] == 1);
        assert(P5_notification);
        p = 0;
        do
        :: p < NP ->
           P5_notification = (stopped[p] || hs[p * NP + n] != H_LIVE || p == n);
           assert(P5_notification);
           p++
        :: else -> break
        od
     :: else ->
        x = 0;
        p = 0;
        do
        :: p < NP ->
           if
           :: p != n && !stopped[p] && !closed[n * NP + p] ->
              R_release_count = (cnt[n * NP + p] == (hs[p * NP + n] == H_LIVE -> hc[p * NP + n] : 0));
              assert(R_release_count)
           :: else -> skip
           fi;
           if
           :: p != n && cnt[n * NP + p] != 0 -> x = 1
           :: else -> skip
           fi;
           p++
        :: else -> break
        od;
        R_release_count = (x || nrel[n] == 0 || reln[n] > 0);
        assert(R_release_count)
     fi;
     n++
  :: else -> break
  od
}

init {
  byte p, e, n, x;
  d_step {
    e = 0;
    do
    :: e < MAXE ->
       ev_snd[e] = NONE;
       ev_node[e] = NONE;
       ev_trig[e] = NONE;
       ev_to[e] = NONE;
       ev_bat[e] = NONE;
       bsnd[e] = NONE;
       bjn[e] = NONE;
       bmn[e] = 255;
       e++
    :: else -> break
    od;
    setup()
  };
  choose();   /* may change the table: everything below is derived from it */
  d_step {
    /* the sender's seq, and the one peer a fast unicast or release goes to */
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
          ev_seq[e] = x + 1;
          if
          :: ev_kind[e] == K_RELEASE -> ev_to[e] = ev_node[e]
          :: ev_kind[e] == K_FAST ->
             p = 0;
             do
             :: p < NP ->
                if
                :: ev_dst[e] & BIT(p) -> ev_to[e] = p
                :: else -> skip
                fi;
                p++
             :: else -> break
             od
          :: else -> skip
          fi
       :: else -> skip
       fi;
       e++
    :: else -> break
    od;
    /* each batch: its sender, first event and trigger (the first event's) */
    e = MAXE;
    do
    :: e > 0 ->
       e--;
       if
       :: ev_snd[e] != NONE ->
          bhead[ev_bat[e]] = e;
          bsnd[ev_bat[e]] = ev_snd[e];
          btrig[ev_bat[e]] = ev_trig[e]
       :: else -> skip
       fi
    :: else -> break
    od;
    p = 0;
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
