/*
 * capbus ordering protocol, spec/ordering.md, as a Promela model for spin.
 * This models the SPEC's algorithm, not packages/core. See spec/verification.md.
 *
 * A configuration file defines NP (peers), LINKCAP, and optionally STOPPER and EXPIRE_PAIRS;
 * includes this file; defines the inline setup() that fills the event table and the bootstrap
 * handles and the inline choose() (nondeterministic initial state, may be `skip`); and then
 * includes run.pml (the init process and the final-state checks).
 *
 * Peers are processes; peer i owns node i. An event is a row of a static table (sender, kind,
 * destinations, carried or destroyed node, trigger); the sender's seq is its rank among its own
 * rows. Every frame handler and local step is one d_step (one atomic transition). Links are
 * FIFO channels, one per ordered pair; a peer receives from any non-empty link, so frames on
 * different links are delayed arbitrarily against each other.
 *
 * Mutations (-DMUT_...) break one rule each; scripts/model-check.ts checks spin catches them.
 */

#define MAXE 6
#define NONE 255

#define K_FAST    1   /* unicast without handles: receiver-committed, §6 */
#define K_ROUND   2   /* multicast, or unicast carrying a handle: Skeen round, §3 */
#define K_DESTROY 3   /* destroy(node), §9 */
#define K_RELEASE 4   /* release of a handle, §10: a fast-unicast-like event */

#define Q_NONE      0 /* entry states in a destination's incoming queue, §3.2, §7 */
#define Q_STAGED    1
#define Q_COMMITTED 2
#define Q_DONE      3 /* delivered (or dropped at delivery) */

#define S_IDLE   0    /* sender side: not called yet */
#define S_CALLED 1    /* fast/release: called, R1/R2 keeps it off the wire */
#define S_WAIT   2    /* round: staged, waiting for answers / fast: on the wire */
#define S_DONE   3    /* decided (§4: final known, or failed everywhere) */

#define N_LIVE       0 /* node states at the owner, §9 */
#define N_DESTROYING 1
#define N_HOLDING    2 /* between pick start and pick */
#define N_DESTROYED  3

#define H_NONE 0      /* a peer's handle to a node */
#define H_LIVE 1
#define H_DEAD 2

#ifndef STOPPER
#define STOPPER NONE
#endif
#ifndef EXPIRE_PAIRS
#define EXPIRE_PAIRS 0
#endif

#ifdef MUT_NO_HOLD
#define HOLD_RULE 0
#else
#define HOLD_RULE 1
#endif
#ifdef MUT_NO_NOTICE
#define NOTICE_RULE 0
#else
#define NOTICE_RULE 1
#endif
#ifdef MUT_DEAD_IGNORED
#define DEAD_RULE 0
#else
#define DEAD_RULE 1
#endif
#ifdef MUT_NO_TOMBSTONE
#define TOMB_RULE 0
#else
#define TOMB_RULE 1
#endif

mtype = { STAGE, PROPOSE, REJECT, DEAD, COMMIT, UNICAST, ACCEPT, NOTICE };

/* link[s*NP+d] carries frames s -> d: kind, event, clock/lamport, dead flag (commit only) */
chan link[NP*NP] = [LINKCAP] of { mtype, byte, byte, bit };

/* ---- the event table (constant after setup) ---- */
byte ev_snd[MAXE];   /* sender peer, NONE for an unused row */
byte ev_kind[MAXE];
byte ev_dst[MAXE];   /* destination peers, bitmask (peer d's node is node d) */
byte ev_to[MAXE];    /* fast/release: the one peer the frame goes to */
byte ev_node[MAXE];  /* round: carried node (a transfer), destroy/release: the node; else NONE */
byte ev_trig[MAXE];  /* the sender calls it only after delivering this event; NONE: any time */
byte ev_seq[MAXE];   /* the sender's seq, 1.. */

/* ---- peers ---- */
byte C[NP];               /* Lamport clocks, §2 */
byte qst[NP*MAXE];        /* queue entry state of event e at peer p */
byte qts[NP*MAXE];        /* its lamport: proposal while staged, final once committed */
bit  qdead[NP*MAXE];      /* the commit listed the carried node dead, §11 */

byte sst[MAXE];           /* sender side state */
byte pend[MAXE];          /* peers whose answer is awaited */
byte prp[MAXE];           /* destinations that proposed: they get the commit */
byte mx[MAXE];            /* max proposal so far */
byte mn[MAXE];            /* min proposal so far (MUT_MIN_FINAL only) */
byte fin[MAXE];           /* the final lamport once decided (0: none) */
bit  xdead[MAXE];         /* a transfer whose carried node was reported dead */
byte stg[MAXE];           /* destroy: peers it is staged at */
byte rval[MAXE];          /* release: the count it carries */

byte ns[NP];              /* node state, at its owner */
byte held[NP];            /* events whose frames the owner holds (§9.2), bitmask */
byte cnt[NP*NP];          /* cnt[n*NP+p]: owner n's reference count for peer p, §5 */
byte hs[NP*NP];           /* hs[p*NP+n]: p's handle to node n */
byte hc[NP*NP];           /* its local count */
bit  dd[NP*NP];           /* dd[p*NP+n]: p delivered n's destroy (the tombstone, §9) */
bit  closed[NP*NP];       /* the session between the two peers expired */
bit  stopped[NP];

/* ---- ghosts: never read by the protocol ---- */
short tdk[NP];            /* the destroy's final timestamp key, once picked */
byte dpos[NP*MAXE];       /* position of e in p's application delivery order, 0: not delivered */
byte dcnt[NP];
byte hb[MAXE];            /* happened-before: the events that happened before e (bitmask) */
byte past[NP];            /* the causal past of peer p */
byte notif[NP*NP];        /* destroyed notifications p got for node n */
byte reln[NP];            /* released notifications at owner n */
byte nrel[NP];            /* releases the owner applied */

/* named properties: spin prints the name of the one that fails */
hidden byte P1_total_order, P2_causality, P4_atomicity, P5_notification, R_release_count;
hidden byte Unique_step, E_PROTOCOL_commit, Quiescent_no_staged_left, Quiescent_all_decided, Link_capacity;

#define BIT(i) (1 << (i))
#define KEY(l, e) ((l) * 16 + ev_snd[e] * 4 + ev_seq[e])  /* (lamport, peer, seq), §1 */
#define QS(p, e) qst[(p) * MAXE + (e)]
#define TS(p, e) qts[(p) * MAXE + (e)]

inline send(from, to, mt, ev, val, fl) {
  if
  :: closed[(from) * NP + (to)] || stopped[to] -> skip   /* lost: nobody reads it */
  :: else ->
     Link_capacity = nfull(link[(from) * NP + (to)]);
     assert(Link_capacity);
     link[(from) * NP + (to)]!mt, ev, val, fl
  fi
}

inline c1(p, val) {   /* C1 */
  if
  :: (val) > C[p] -> C[p] = val
  :: else -> skip
  fi
}

inline maxup(ev, val) {
  if
  :: (val) > mx[ev] -> mx[ev] = val
  :: else -> skip
  fi;
  if
  :: (val) < mn[ev] -> mn[ev] = val
  :: else -> skip
  fi
}

/* Delivery of event ev to p's application: check P1 and P2 against everything before it. */
inline appdeliver(p, ev) {
  q = 0;
  do
  :: q < NP ->
     if
     :: q != (p) && dpos[q * MAXE + (ev)] != 0 ->
        k = 0;
        do
        :: k < MAXE ->
           P1_total_order = (dpos[(p) * MAXE + k] == 0 || dpos[q * MAXE + k] == 0 ||
                             dpos[q * MAXE + k] < dpos[q * MAXE + (ev)]);
           assert(P1_total_order);
           k++
        :: else -> break
        od
     :: else -> skip
     fi;
     q++
  :: else -> break
  od;
  k = 0;
  do
  :: k < MAXE ->
     P2_causality = (dpos[(p) * MAXE + k] == 0 || (hb[k] & BIT(ev)) == 0);
     assert(P2_causality);
     k++
  :: else -> break
  od;
  dcnt[p]++;
  dpos[(p) * MAXE + (ev)] = dcnt[p];
  past[p] = past[p] | hb[ev] | BIT(ev);
  q = 0;
  k = 0
}

/* ---------------- frames ---------------- */

inline onstage() {   /* at destination me, from sender s: §3.2, §9.1 */
  c1(me, v);
  if
  :: ev_kind[e] == K_DESTROY ->   /* a holder of the node proposes at once */
     C[me]++;
     QS(me, e) = Q_STAGED;
     TS(me, e) = C[me];
     send(me, s, PROPOSE, e, C[me], 0)
  :: else ->                     /* a message for my node `me` */
     if
     :: cnt[me * NP + s] == 0 -> send(me, s, REJECT, e, 0, 0)   /* E_NO_HANDLE */
     :: cnt[me * NP + s] != 0 && ns[me] == N_HOLDING && HOLD_RULE -> held[me] = held[me] | BIT(e)
     :: cnt[me * NP + s] != 0 && ns[me] == N_DESTROYED ->
        C[me]++;
        send(me, s, DEAD, e, C[me], 0)
     :: else ->
        C[me]++;
        QS(me, e) = Q_STAGED;
        TS(me, e) = C[me];
        send(me, s, PROPOSE, e, C[me], 0)
     fi
  fi
}

inline onnotice() {   /* at owner me of the carried node, from sender s: §11 */
  c1(me, v);
  if
  :: cnt[me * NP + s] == 0 -> send(me, s, REJECT, e, 0, 0)   /* E_NO_HANDLE */
  :: cnt[me * NP + s] != 0 && ns[me] == N_HOLDING && HOLD_RULE -> held[me] = held[me] | BIT(e)
  :: cnt[me * NP + s] != 0 && ns[me] == N_DESTROYED ->
     C[me]++;
     send(me, s, DEAD, e, C[me], 0)
  :: else ->   /* one reference per receiver, counted before the transfer is decided (§5) */
     k = 0;
     do
     :: k < NP ->
        if
        :: ev_dst[e] & BIT(k) -> cnt[me * NP + k]++
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0;
     C[me]++;
     send(me, s, PROPOSE, e, C[me], 0)
  fi
}

inline onunicast() {   /* fast unicast or release, at me: §6, §10 */
#ifndef MUT_FAST_NO_CLOCK
  c1(me, v);   /* the sender's clock in the frame (design note: without it causality breaks) */
#endif
  if
  :: ev_kind[e] == K_RELEASE ->
     C[me]++;
     QS(me, e) = Q_COMMITTED;
     TS(me, e) = C[me];
     send(me, s, ACCEPT, e, C[me], 0)
  :: else ->
     if
     :: cnt[me * NP + s] == 0 -> send(me, s, REJECT, e, 0, 0)   /* E_NO_HANDLE */
     :: cnt[me * NP + s] != 0 && ns[me] == N_HOLDING && HOLD_RULE -> held[me] = held[me] | BIT(e)
     :: cnt[me * NP + s] != 0 && ns[me] == N_DESTROYED -> send(me, s, REJECT, e, 0, 0) /* E_DESTROYED */
     :: else ->
        C[me]++;
        QS(me, e) = Q_COMMITTED;
        TS(me, e) = C[me];
        send(me, s, ACCEPT, e, C[me], 0)
     fi
  fi
}

inline onpropose() {   /* at sender me: §3.3 (a proposal does not move the clock, §2) */
  pend[e] = pend[e] & ~BIT(s);
  if
  :: ev_kind[e] == K_DESTROY || (ev_dst[e] & BIT(s)) -> prp[e] = prp[e] | BIT(s)
  :: else -> skip   /* the owner's answer to a notice: it needs no commit (§11) */
  fi;
  maxup(e, v)
}

inline ondead() {   /* at sender me: answer `dead` with a proposal above td, §9.3, §11 */
  pend[e] = pend[e] & ~BIT(s);
  maxup(e, v);
  if
  :: ev_dst[e] & BIT(s) -> skip   /* a destination's node is destroyed: E_DESTROYED there */
  :: else -> xdead[e] = 1         /* the notice's node: the commit lists it dead */
  fi
}

inline onreject() {
  pend[e] = pend[e] & ~BIT(s);
  if
  :: ev_kind[e] == K_FAST || ev_kind[e] == K_RELEASE -> sst[e] = S_DONE   /* failed: decided */
  :: else -> skip
  fi
}

inline onaccept() {   /* §6: the sender applies C1; the event is decided */
  c1(me, v);
  pend[e] = 0;
  fin[e] = v;
  sst[e] = S_DONE
}

inline oncommit() {   /* at destination me: §3.4 */
#ifndef MUT_NO_COMMIT_CHECK
  E_PROTOCOL_commit = (QS(me, e) == Q_STAGED && v >= TS(me, e));
  assert(E_PROTOCOL_commit);
#endif
  c1(me, v);
  QS(me, e) = Q_COMMITTED;
  TS(me, e) = v;
  qdead[me * MAXE + e] = fl
}

inline onframe() {
  if
  :: m == STAGE -> onstage()
  :: m == NOTICE -> onnotice()
  :: m == UNICAST -> onunicast()
  :: m == PROPOSE -> onpropose()
  :: m == DEAD -> ondead()
  :: m == REJECT -> onreject()
  :: m == ACCEPT -> onaccept()
  :: m == COMMIT -> oncommit()
  fi
}

/* ---------------- local steps ---------------- */

/* the application calls event E (its trigger, if any, is delivered; its earlier events called) */
#define PRIOR_CALLED(E, k) ((k) >= (E) || ev_snd[k] != me || sst[k] != S_IDLE)
#define CAN_CALL(E) (ev_snd[E] == me && sst[E] == S_IDLE && \
  (ev_trig[E] == NONE || dpos[me * MAXE + ev_trig[E]] != 0) && \
  PRIOR_CALLED(E, 0) && PRIOR_CALLED(E, 1) && PRIOR_CALLED(E, 2) && \
  PRIOR_CALLED(E, 3) && PRIOR_CALLED(E, 4) && PRIOR_CALLED(E, 5))

inline docall(E) {
  printf("T %d call e%d\n", me, E);
  hb[E] = past[me];             /* ghost: everything me sent or delivered happened before E */
  past[me] = past[me] | BIT(E);
  if
  :: ev_kind[E] == K_FAST ->
     if
     :: hs[me * NP + ev_to[E]] == H_LIVE && !closed[me * NP + ev_to[E]] -> sst[E] = S_CALLED
     :: else -> sst[E] = S_DONE   /* dead handle: fails at once */
     fi
  :: ev_kind[E] == K_RELEASE ->   /* §10: local count to zero, one release for all of it */
     if
     :: hs[me * NP + ev_node[E]] == H_LIVE ->
        rval[E] = hc[me * NP + ev_node[E]];
        hs[me * NP + ev_node[E]] = H_NONE;
        hc[me * NP + ev_node[E]] = 0;
        sst[E] = S_CALLED
     :: else -> sst[E] = S_DONE
     fi
  :: ev_kind[E] == K_ROUND ->     /* §3.1: stage at once at every destination */
     sst[E] = S_WAIT;
     k = 0;
     do
     :: k < NP ->
        if
        :: (ev_dst[E] & BIT(k)) && hs[me * NP + k] == H_LIVE && !closed[me * NP + k] ->
           send(me, k, STAGE, E, C[me], 0);
           pend[E] = pend[E] | BIT(k)
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0;
     if
     :: pend[E] == 0 -> sst[E] = S_DONE   /* no destination: delivered nowhere */
     :: pend[E] != 0 && ev_node[E] != NONE ->   /* a transfer: involve the owner, §11 */
        if
        :: hs[me * NP + ev_node[E]] == H_LIVE && NOTICE_RULE ->
           send(me, ev_node[E], NOTICE, E, C[me], 0);
           pend[E] = pend[E] | BIT(ev_node[E])
        :: hs[me * NP + ev_node[E]] != H_LIVE -> xdead[E] = 1   /* carries a dead handle */
        :: else -> skip
        fi
     :: else -> skip
     fi
  :: ev_kind[E] == K_DESTROY ->   /* §9.1: stage at itself and every current holder */
     ns[me] = N_DESTROYING;
     sst[E] = S_WAIT;
     C[me]++;
     QS(me, E) = Q_STAGED;
     TS(me, E) = C[me];
     maxup(E, C[me]);
     k = 0;
     do
     :: k < NP ->
        if
        :: k != me && cnt[me * NP + k] > 0 && !closed[me * NP + k] ->
           send(me, k, STAGE, E, C[me], 0);
           pend[E] = pend[E] | BIT(k);
           stg[E] = stg[E] | BIT(k)
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0
  fi
}

/* R1/R2 (§4): a fast unicast goes on the wire only when each earlier own event is decided, or is
 * a fast unicast (or release) to the same peer already on the wire. */
#ifdef MUT_NO_R1
#define R2_OK(E, k) (1)
#define R1_OK(E, k) (1)
#else
#define R2_OK(E, k) ((k) >= (E) || ev_snd[k] != me || sst[k] == S_DONE || \
  ((ev_kind[k] == K_FAST || ev_kind[k] == K_RELEASE) && ev_to[k] == ev_to[E] && sst[k] == S_WAIT))
#define R1_OK(E, k) ((k) >= (E) || ev_snd[k] != me || sst[k] == S_DONE)
#endif
#define CAN_WIRE(E) (ev_snd[E] == me && sst[E] == S_CALLED && \
  R2_OK(E, 0) && R2_OK(E, 1) && R2_OK(E, 2) && R2_OK(E, 3) && R2_OK(E, 4) && R2_OK(E, 5))

inline dowire(E) {
  if
  :: closed[me * NP + ev_to[E]] -> sst[E] = S_DONE
  :: else ->
     printf("T %d wire e%d clock %d\n", me, E, C[me]);
     send(me, ev_to[E], UNICAST, E, C[me], 0);
     pend[E] = BIT(ev_to[E]);
     sst[E] = S_WAIT
  fi
}

#define CAN_DECIDE(E) (ev_snd[E] == me && sst[E] == S_WAIT && pend[E] == 0 && \
  (ev_kind[E] == K_ROUND || ev_kind[E] == K_DESTROY) && \
  R1_OK(E, 0) && R1_OK(E, 1) && R1_OK(E, 2) && R1_OK(E, 3) && R1_OK(E, 4) && R1_OK(E, 5))

inline pick(E) {   /* §3.3 */
#ifdef MUT_MIN_FINAL
  l = C[me] + 1;
  if
  :: mn[E] < l -> l = mn[E]
  :: else -> skip
  fi;
#else
  l = C[me] + 1;
  if
  :: mx[E] > l -> l = mx[E]
  :: else -> skip
  fi;
#endif
  c1(me, l);
  printf("T %d decide e%d final %d\n", me, E, l);
  sst[E] = S_DONE;
  if
  :: prp[E] != 0 || ev_kind[E] == K_DESTROY -> fin[E] = l
  :: else -> skip   /* nobody proposed: no final */
  fi;
  k = 0;
  do
  :: k < NP ->
     if
     :: prp[E] & BIT(k) -> send(me, k, COMMIT, E, l, xdead[E])
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0;
  if
  :: ev_kind[E] == K_DESTROY ->   /* §9.3: destroyed at td; answer the held frames */
     QS(me, E) = Q_COMMITTED;
     TS(me, E) = l;
     ns[me] = N_DESTROYED;
     tdk[me] = KEY(l, E);
     do
     :: k < MAXE ->
        if
        :: held[me] & BIT(k) ->
           if
           :: ev_kind[k] == K_FAST -> send(me, ev_snd[k], REJECT, k, 0, 0)   /* E_DESTROYED */
           :: else ->
              C[me]++;
              send(me, ev_snd[k], DEAD, k, C[me], 0)
           fi
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0;
     held[me] = 0
  :: else -> skip
  fi
}

inline dodecide(E) {
  if
  :: ev_kind[E] == K_DESTROY && ns[me] == N_DESTROYING ->
     /* §9.2 pick start: stage at holders that appeared meanwhile, hold frames until the pick */
     ns[me] = N_HOLDING;
     printf("T %d pick-start e%d\n", me, E);
#ifndef MUT_NO_RESTAGE
     k = 0;
     do
     :: k < NP ->
        if
        :: k != me && cnt[me * NP + k] > 0 && !(stg[E] & BIT(k)) && !closed[me * NP + k] ->
           send(me, k, STAGE, E, C[me], 0);
           pend[E] = pend[E] | BIT(k);
           stg[E] = stg[E] | BIT(k)
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0
#endif
  :: else -> pick(E)
  fi
}

/* D1 (§7): deliver the lowest entry, only when it is committed */
#define ACTIVE(p, k) (QS(p, k) == Q_STAGED || QS(p, k) == Q_COMMITTED)
#ifdef MUT_NO_D1
#define LOW_OK(p, E, k) ((k) == (E) || QS(p, k) != Q_COMMITTED || KEY(TS(p, k), k) > KEY(TS(p, E), E))
#else
#define LOW_OK(p, E, k) ((k) == (E) || !ACTIVE(p, k) || KEY(TS(p, k), k) > KEY(TS(p, E), E))
#endif
#define CAN_DELIVER(E) (QS(me, E) == Q_COMMITTED && LOW_OK(me, E, 0) && LOW_OK(me, E, 1) && \
  LOW_OK(me, E, 2) && LOW_OK(me, E, 3) && LOW_OK(me, E, 4) && LOW_OK(me, E, 5))

inline dodeliver(E) {
  QS(me, E) = Q_DONE;
  if
  :: ev_kind[E] == K_DESTROY ->   /* §9 delivery */
     n = ev_snd[E];
     dd[me * NP + n] = 1;
     if
     :: me == n ->
        notif[me * NP + n]++;
        a = 1;
        printf("T %d deliver e%d ts %d\n", me, E, TS(me, E))
     :: me != n && hs[me * NP + n] == H_LIVE ->
        hs[me * NP + n] = H_DEAD;
        hc[me * NP + n] = 0;
        notif[me * NP + n]++;
        a = 1;
        printf("T %d deliver e%d ts %d\n", me, E, TS(me, E))
     :: else -> skip   /* not held live: a tombstone only */
     fi;
     P5_notification = (notif[me * NP + n] <= 1);
     assert(P5_notification)
  :: ev_kind[E] == K_RELEASE ->   /* §10, at the owner */
     n = ev_node[E];
     if
     :: dd[me * NP + n] -> skip   /* destroyed before it: ignored */
     :: else ->
        R_release_count = (cnt[n * NP + ev_snd[E]] >= rval[E]);
        assert(R_release_count);
        cnt[n * NP + ev_snd[E]] = cnt[n * NP + ev_snd[E]] - rval[E];
        nrel[n]++;
        k = 0;
        l = 0;
        do
        :: k < NP ->
           if
           :: k != n && cnt[n * NP + k] > 0 -> l = 1
           :: else -> skip
           fi;
           k++
        :: else -> break
        od;
        if
        :: l == 0 ->   /* `released`: then nobody may hold a live handle to n */
           k = 0;
           do
           :: k < NP ->
              R_release_count = (k == n || hs[k * NP + n] != H_LIVE);
              assert(R_release_count);
              k++
           :: else -> break
           od;
           reln[n]++;
           a = 1;
           printf("T %d deliver e%d ts %d\n", me, E, TS(me, E))
        :: else -> skip
        fi;
        k = 0;
        l = 0
     fi
  :: else ->   /* a message for my node me */
     if
     :: dd[me * NP + me] ->   /* its destroy precedes it: dropped (§9) */
        P5_notification = (tdk[me] != 0 && tdk[me] < KEY(TS(me, E), E));
        assert(P5_notification)
     :: else ->
        P5_notification = (tdk[me] == 0 || KEY(TS(me, E), E) < tdk[me]);   /* none after it */
        assert(P5_notification);
        a = 1;
        printf("T %d deliver e%d ts %d\n", me, E, TS(me, E));
        n = ev_node[E];
        if
        :: n != NONE ->   /* it carries a handle to node n */
           if
           :: (qdead[me * MAXE + E] && DEAD_RULE) || hs[me * NP + n] == H_DEAD ||
              (dd[me * NP + n] && TOMB_RULE) ->
              printf("T %d gets a dead handle to node %d\n", me, n);
              if
              :: hs[me * NP + n] == H_NONE -> hs[me * NP + n] = H_DEAD   /* arrives dead */
              :: else -> skip
              fi
           :: else ->
              /* no peer receives a live handle to a node after its destroy in the order */
              P5_notification = (tdk[n] == 0 || KEY(TS(me, E), E) < tdk[n]);
              printf("T %d gets a live handle to node %d\n", me, n);
              assert(P5_notification);
              hs[me * NP + n] = H_LIVE;
              hc[me * NP + n]++
           fi
        :: else -> skip
        fi
     fi
  fi;
  if
  :: a -> appdeliver(me, E)
  :: else -> printf("T %d dequeue e%d ts %d: nothing to deliver (dropped, tombstone or ignored)\n", me, E, TS(me, E))
  fi;
  a = 0;
  n = 0
}

/* Trap 3: a staged entry held too long expires its sender's session, at both ends, finally. */
#define STAGED_FROM(p, s, k) (QS(p, k) == Q_STAGED && ev_snd[k] == (s))
#define WAITS_ON(p, s, k) (ev_snd[k] == (p) && sst[k] == S_WAIT && (pend[k] & BIT(s)) != 0)
#ifdef MUT_NO_EXPIRY
#define CAN_EXPIRE(S) (0)
#else
#define CAN_EXPIRE(S) ((EXPIRE_PAIRS & BIT((S) * NP + me)) != 0 && !closed[(S) * NP + me] && \
  (STAGED_FROM(me, S, 0) || STAGED_FROM(me, S, 1) || STAGED_FROM(me, S, 2) || \
   STAGED_FROM(me, S, 3) || STAGED_FROM(me, S, 4) || STAGED_FROM(me, S, 5) || \
   (stopped[S] && (WAITS_ON(me, S, 0) || WAITS_ON(me, S, 1) || WAITS_ON(me, S, 2) || \
                   WAITS_ON(me, S, 3) || WAITS_ON(me, S, 4) || WAITS_ON(me, S, 5)))))
#endif

inline lose(a, b) {   /* a's view of the session with b ending (§7 last paragraph, §3.3) */
  k = 0;
  do
  :: k < MAXE ->
     if
     :: QS(a, k) == Q_STAGED && ev_snd[k] == (b) -> QS(a, k) = Q_NONE   /* staged: dropped */
     :: else -> skip   /* committed entries stay and are delivered */
     fi;
     if
     :: ev_snd[k] == (b) -> held[a] = held[a] & ~BIT(k)
     :: else -> skip
     fi;
     if
     :: ev_snd[k] == (a) && sst[k] == S_WAIT && (pend[k] & BIT(b)) ->
        pend[k] = pend[k] & ~BIT(b);   /* that destination is lost to the round */
        if
        :: ev_kind[k] == K_FAST || ev_kind[k] == K_RELEASE -> sst[k] = S_DONE
        :: else -> skip
        fi
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0
}

inline doexpire(S) {
  printf("T %d session with %d expires\n", me, S);
  closed[(S) * NP + me] = 1;
  closed[me * NP + (S)] = 1;
  do
  :: nempty(link[(S) * NP + me]) -> link[(S) * NP + me]?_, _, _, _
  :: empty(link[(S) * NP + me]) -> break
  od;
  do
  :: nempty(link[me * NP + (S)]) -> link[me * NP + (S)]?_, _, _, _
  :: empty(link[me * NP + (S)]) -> break
  od;
  lose(me, S);
  lose(S, me)
}

/* A receive option per link J->me, all in one `if`: nondeterministic (an atomic, not a d_step). */
#define RECV(J) :: nempty(link[(J) * NP + me]) -> link[(J) * NP + me]?m, e, v, fl; s = J
/* One step of a kind: at most one event of a peer can take it (script order, R1/R2, D1 picks
 * the lowest key), so taking the first that can loses no interleaving; Unique_step checks it. */
#define ANY(CAN) (CAN(0) || CAN(1) || CAN(2) || CAN(3) || CAN(4) || CAN(5))
#ifdef MUT_NO_R1
#define UNIQUE_RULE 0   /* without R1 several may be enabled: the first is taken */
#else
#define UNIQUE_RULE 1
#endif
#define STEP(CAN, DO) :: d_step { ANY(CAN) -> \
  e = 0; \
  do \
  :: CAN(e) -> break \
  :: else -> e++ \
  od; \
  k = e + 1; \
  do \
  :: k < MAXE -> Unique_step = (!UNIQUE_RULE || !CAN(k)); assert(Unique_step); k++ \
  :: else -> break \
  od; \
  k = 0; \
  DO(e); \
  e = 0 }
#define EXPIRE(S) :: CAN_EXPIRE(S) -> s = S

proctype peer(byte me) {
  mtype m;
  byte e, v, s, k, q, n, l;
  bit fl, a;
end:
  do
  :: atomic {   /* receive a frame from any link and handle it, in one step */
       if
       RECV(0)
       RECV(1)
       RECV(2)
#if NP > 3
       RECV(3)
#endif
       fi;
       d_step {
         printf("T %d <- %d %e e%d %d dead=%d\n", me, s, m, e, v, fl);
         onframe();
         m = 0; e = 0; v = 0; fl = 0; s = 0
       }
     }
  STEP(CAN_CALL, docall)
  STEP(CAN_WIRE, dowire)
  STEP(CAN_DECIDE, dodecide)
  STEP(CAN_DELIVER, dodeliver)
  :: atomic {   /* trap 3: me's timer expires the session with peer s */
       if
       EXPIRE(0)
       EXPIRE(1)
       EXPIRE(2)
#if NP > 3
       EXPIRE(3)
#endif
       fi;
       d_step {
         doexpire(s);
         s = 0
       }
     }
  :: me == STOPPER && !stopped[me] -> printf("T %d stops\n", me); stopped[me] = 1; break   /* for good */
  od
}

/* ---------------- configuration helpers ---------------- */

inline defev(i, snd, kind, dst, node, trig) {
  ev_snd[i] = snd;
  ev_kind[i] = kind;
  ev_dst[i] = dst;
  ev_node[i] = node;
  ev_trig[i] = trig
}

inline give(p, n, count) {   /* a bootstrap grant: p holds `count` references to node n */
  cnt[(n) * NP + (p)] = count;
  hs[(p) * NP + (n)] = H_LIVE;
  hc[(p) * NP + (n)] = count
}

