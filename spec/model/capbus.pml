/*
 * capbus ordering protocol, spec/ordering.md, as a Promela model for spin.
 * This models the SPEC's algorithm, not packages/core. See spec/verification.md.
 *
 * A configuration file defines NP (peers), LINKCAP, and optionally STOPPER, EXPIRE_PAIRS and
 * QUOTA_PEER; includes this file; defines the inline setup() that fills the event table and the
 * bootstrap handles and the inline choose() (nondeterministic initial state or table, may be
 * `skip`); and then includes run.pml (the init process and the final-state checks).
 *
 * Peers are processes; peer i owns node i. An event is a row of a static table (sender, kind,
 * destinations, carried or destroyed node, trigger, batch); the sender's seq is its rank among
 * its own rows. Events are sent in batches (wire version 2, design note B1-B9): by default each
 * row is a batch of its own (wire version 1's frames); inbatch() puts rows of one sender into one
 * batch, and joins() lets a batch join the sender's previous one while that is a fast batch held
 * back by B4 (B5, B6). Every frame handler and local step is one d_step (one atomic
 * transition). Links are FIFO channels, one per ordered pair; a peer receives from any non-empty
 * link, so frames on different links are delayed arbitrarily against each other.
 *
 * Mutations (-DMUT_...) break one rule each; scripts/model-check.ts checks spin catches them.
 */

#define MAXE 6
#define MAXB MAXE     /* batch slots: at most one per event row */
#define NONE 255

#define K_FAST    1   /* unicast without handles: may go in a fast batch, §6, B2 */
#define K_ROUND   2   /* multicast, or a unicast that carries a handle or may be aborted: §3 */
#define K_DESTROY 3   /* destroy(node), §9: a batch of its own (B1) */
#define K_RELEASE 4   /* release of a handle, §10: a fast-unicast-like batch of its own */

#define Q_NONE      0 /* entry states in a destination's incoming queue, §3.2, §7 */
#define Q_STAGED    1
#define Q_COMMITTED 2
#define Q_DONE      3 /* delivered (or dropped at delivery) */

#define S_IDLE   0    /* a batch at its sender: not called yet */
#define S_CALLED 1    /* a fast batch (or release): called, B4/R1/R2 keeps it off the wire */
#define S_WAIT   2    /* round: staged, waiting for answers / fast: on the wire */
#define S_DONE   3    /* decided (§4: final known, or failed everywhere); or joined another */

#define A_NONE    0   /* an event at its sender: why it is delivered nowhere */
#define A_ABORTED 1   /* its caller aborted it (§3.5, B8) */
#define A_REFUSED 2   /* a destination refused it: aborted everywhere (§3.3 R3) */

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
#ifndef QUOTA_PEER
#define QUOTA_PEER NONE   /* a peer that may refuse any stage frame's entries (E_QUOTA) */
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

mtype = { STAGE, PROPOSE, REJECT, DEAD, COMMIT, UNICAST, ACCEPT, NOTICE, ABORT };

/* link[s*NP+d] carries frames s -> d: kind, batch (an event for ABORT), clock/lamport, and x:
 * the dead flag of a commit, or the entries a propose refuses (a bitmask of events) */
chan link[NP*NP] = [LINKCAP] of { mtype, byte, byte, byte };

/* ---- the event table (constant after setup, except ev_bat when a batch joins another) ---- */
byte ev_snd[MAXE];   /* sender peer, NONE for an unused row */
byte ev_kind[MAXE];
byte ev_dst[MAXE];   /* destination peers, bitmask (peer d's node is node d) */
byte ev_to[MAXE];    /* fast/release: the one peer the frame goes to */
byte ev_node[MAXE];  /* round: carried node (a transfer), destroy/release: the node; else NONE */
byte ev_trig[MAXE];  /* the sender calls it only after delivering this event; NONE: any time */
byte ev_seq[MAXE];   /* the sender's seq, 1.. */
bit  ev_abt[MAXE];   /* its caller may abort it while its batch is undecided (B8) */
byte ev_bat[MAXE];   /* its batch */

/* ---- batches: static (derived from the table) ---- */
byte bsnd[MAXB];     /* sender, NONE for an unused slot */
byte bhead[MAXB];    /* its first event */
byte btrig[MAXB];    /* its first event's trigger: the batch is called in one turn */
byte bjn[MAXB];      /* the sender's batch it joins while that is held back (B5), or NONE */

/* ---- peers ---- */
byte C[NP];               /* Lamport clocks, §2 */
byte qst[NP*MAXE];        /* queue entry state of event e at peer p */
byte qts[NP*MAXE];        /* its lamport: proposal while staged, final once committed */
bit  qdead[NP*MAXE];      /* the commit listed the carried node dead, §11 */

byte bst[MAXB];           /* batch state at its sender */
bit  bfast[MAXB];         /* a fast batch (one frame to one peer, B2) or a release */
byte bto[MAXB];           /* a fast batch's peer */
byte bdst[MAXB];          /* the batch's destination peers (union of its events') */
byte bpend[MAXB];         /* peers whose answer is awaited */
byte bprp[MAXB];          /* destinations that proposed: they get the commit */
byte bstg[MAXB];          /* peers it was staged at */
byte bmx[MAXB];           /* max proposal so far */
byte bmn[MAXB];           /* min proposal so far (MUT_MIN_FINAL only) */
byte bfin[MAXB];          /* the final lamport F_b once decided (0: none) */
bit  bxdead[MAXB];        /* a transfer whose carried node was reported dead */
byte eab[MAXE];           /* A_NONE, A_ABORTED, A_REFUSED */
byte rval[MAXE];          /* release: the count it carries */
#ifdef MUT_FINAL_PER_DEST
byte bpp[MAXB*NP];        /* each destination's proposal */
#endif

byte ns[NP];              /* node state, at its owner */
byte held[NP];            /* batches whose frames the owner holds (§9.2, B9), bitmask */
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
/* (lamport, peer, seq), §1; a batch's events share F_b and keep send order by seq (B1) */
#ifdef MUT_BATCH_ORDER
#define KEY(l, e) ((l) * 16 + ev_snd[e] * 4 + (4 - ev_seq[e]))   /* seq tie-break reversed */
#else
#define KEY(l, e) ((l) * 16 + ev_snd[e] * 4 + ev_seq[e])
#endif
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

inline maxup(bb, val) {
  if
  :: (val) > bmx[bb] -> bmx[bb] = val
  :: else -> skip
  fi;
  if
  :: (val) < bmn[bb] -> bmn[bb] = val
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

/* ---------------- frames (e: the batch, or the event of an ABORT) ---------------- */

inline onstage() {   /* at participant me, from sender s: §3.2, §9.1, B2 */
  c1(me, v);
  if
  :: ev_kind[bhead[e]] == K_DESTROY ->   /* a holder of the node proposes at once */
     C[me]++;
     QS(me, bhead[e]) = Q_STAGED;
     TS(me, bhead[e]) = C[me];
     send(me, s, PROPOSE, e, C[me], 0)
  :: else ->                     /* a batch of messages for my node `me` */
     if
     :: cnt[me * NP + s] == 0 -> send(me, s, REJECT, e, 0, 0)   /* E_NO_HANDLE */
     :: cnt[me * NP + s] != 0 && ns[me] == N_HOLDING && HOLD_RULE -> held[me] = held[me] | BIT(e)
     :: cnt[me * NP + s] != 0 && ns[me] == N_DESTROYED ->
        C[me]++;
        send(me, s, DEAD, e, C[me], 0)
     :: else ->   /* one proposal stages every listed entry, with per-entry refusals */
        C[me]++;
        i = 0;
        do
        :: i < MAXE ->
           if
           :: ev_bat[i] == e && (ev_dst[i] & BIT(me)) ->
              if
              :: qr -> x = x | BIT(i)   /* E_QUOTA: refused, nothing kept */
              :: else ->
                 QS(me, i) = Q_STAGED;
                 TS(me, i) = C[me]
              fi
           :: else -> skip
           fi;
           i++
        :: else -> break
        od;
        i = 0;
        send(me, s, PROPOSE, e, C[me], x)
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
        :: bdst[e] & BIT(k) -> cnt[me * NP + k]++
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

inline onunicast() {   /* a fast batch or a release, at me: §6, §10, B2 */
#ifndef MUT_FAST_NO_CLOCK
  c1(me, v);   /* the sender's clock in the frame (design note: without it causality breaks) */
#endif
  if
  :: ev_kind[bhead[e]] == K_RELEASE ->
     C[me]++;
     QS(me, bhead[e]) = Q_COMMITTED;
     TS(me, bhead[e]) = C[me];
     send(me, s, ACCEPT, e, C[me], 0)
  :: else ->
     if
     :: cnt[me * NP + s] == 0 -> send(me, s, REJECT, e, 0, 0)   /* E_NO_HANDLE */
     :: cnt[me * NP + s] != 0 && ns[me] == N_HOLDING && HOLD_RULE -> held[me] = held[me] | BIT(e)
     :: cnt[me * NP + s] != 0 && ns[me] == N_DESTROYED -> send(me, s, REJECT, e, 0, 0) /* E_DESTROYED */
     :: else ->   /* one F for the whole batch: every event committed at (F, sender, seq) */
        C[me]++;
        i = 0;
        do
        :: i < MAXE ->
           if
           :: ev_bat[i] == e ->
              QS(me, i) = Q_COMMITTED;
              TS(me, i) = C[me]
           :: else -> skip
           fi;
           i++
        :: else -> break
        od;
        i = 0;
        send(me, s, ACCEPT, e, C[me], 0)
     fi
  fi
}

inline onpropose() {   /* at sender me: §3.3 (a proposal does not move the clock, §2) */
  bpend[e] = bpend[e] & ~BIT(s);
  t = 0;   /* s's entries in the batch */
  i = 0;
  do
  :: i < MAXE ->
     if
     :: ev_bat[i] == e && (ev_dst[i] & BIT(s)) -> t = t | BIT(i)
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0;
  if   /* a destination that refused every entry keeps nothing: no commit, no abort */
  :: ev_kind[bhead[e]] == K_DESTROY || (t != 0 && x != t) -> bprp[e] = bprp[e] | BIT(s)
  :: else -> skip   /* or the owner's answer to a notice: it needs no commit (§11) */
  fi;
  t = 0;
  maxup(e, v);
#ifdef MUT_FINAL_PER_DEST
  bpp[e * NP + s] = v;
#endif
#ifndef MUT_NO_R3   /* without R3 the round goes on without the refusing destination */
  i = 0;
  do   /* R3: an entry a destination refused is aborted everywhere (at the decision) */
  :: i < MAXE ->
     if
     :: x & BIT(i) -> eab[i] = A_REFUSED
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0
#endif
}

inline ondead() {   /* at sender me: answer `dead` with a proposal above td, §9.3, §11 */
  bpend[e] = bpend[e] & ~BIT(s);
  maxup(e, v);
  if
  :: bdst[e] & BIT(s) -> skip   /* a destination's node is destroyed: E_DESTROYED there */
  :: else -> bxdead[e] = 1      /* the notice's node: the commit lists it dead */
  fi
}

inline onreject() {
  bpend[e] = bpend[e] & ~BIT(s);
  if
  :: bfast[e] -> bst[e] = S_DONE   /* failed: decided */
  :: !bfast[e] && (bdst[e] & BIT(s)) ->   /* a destination refused its entries: R3 */
#ifndef MUT_NO_R3
     i = 0;
     do
     :: i < MAXE ->
        if
        :: ev_bat[i] == e && (ev_dst[i] & BIT(s)) -> eab[i] = A_REFUSED
        :: else -> skip
        fi;
        i++
     :: else -> break
     od;
     i = 0
#endif
  :: else -> skip   /* a notice's owner refused: not a destination's refusal (§3.3) */
  fi
}

inline onaccept() {   /* §6: the sender applies C1; the batch is decided */
  c1(me, v);
  bpend[e] = 0;
  bfin[e] = v;
  bst[e] = S_DONE
}

inline oncommit() {   /* at destination me: §3.4, every entry of the batch staged here */
  a = 0;
  i = 0;
  do
  :: i < MAXE ->
     if
     :: ev_bat[i] == e && QS(me, i) == Q_STAGED ->
#ifndef MUT_NO_COMMIT_CHECK
        E_PROTOCOL_commit = (v >= TS(me, i));
        assert(E_PROTOCOL_commit);
#endif
        QS(me, i) = Q_COMMITTED;
        TS(me, i) = v;
        qdead[me * MAXE + i] = x;
        a = 1
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0;
#ifndef MUT_NO_COMMIT_CHECK
  E_PROTOCOL_commit = a;   /* a commit for a batch with nothing staged here */
  assert(E_PROTOCOL_commit);
#endif
  a = 0;
  c1(me, v)
}

inline onabort() {   /* at destination me, event e: §3.5, B8 (ignored unless staged) */
#ifndef MUT_ABORT_IGNORED
  if
  :: QS(me, e) == Q_STAGED -> QS(me, e) = Q_NONE
  :: else -> skip
  fi
#else
  skip
#endif
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
  :: m == ABORT -> onabort()
  fi
}

/* ---------------- local steps ---------------- */

/* B4 (R1/R2 per batch, §4): a fast batch goes on the wire only when each earlier batch of the
 * sender is decided, or is a fast batch (or release) to the same peer already on the wire. */
#ifdef MUT_NO_R1
#define R2_OK(B, k) (1)
#define R1_OK(B, k) (1)
#else
#define R2_OK(B, k) ((k) >= (B) || bsnd[k] != me || bst[k] == S_DONE || \
  (bfast[k] && bto[k] == bto[B] && bst[k] == S_WAIT))
#define R1_OK(B, k) ((k) >= (B) || bsnd[k] != me || bst[k] == S_DONE)
#endif
#define CAN_WIRE(B) (bsnd[B] == me && bst[B] == S_CALLED && \
  R2_OK(B, 0) && R2_OK(B, 1) && R2_OK(B, 2) && R2_OK(B, 3) && R2_OK(B, 4) && R2_OK(B, 5))

inline dowire(B) {
  if
  :: closed[me * NP + bto[B]] -> bst[B] = S_DONE
  :: else ->
     printf("T %d wire b%d clock %d\n", me, B, C[me]);
     send(me, bto[B], UNICAST, B, C[me], 0);
     bpend[B] = BIT(bto[B]);
     bst[B] = S_WAIT
  fi
}

/* the application calls batch B, all its events in one turn (its trigger, if any, is delivered;
 * the sender's earlier batches called) */
#define PRIOR_CALLED(B, k) ((k) >= (B) || bsnd[k] != me || bst[k] != S_IDLE)
#define CAN_CALL(B) (bsnd[B] == me && bst[B] == S_IDLE && \
  (btrig[B] == NONE || dpos[me * MAXE + btrig[B]] != 0) && \
  PRIOR_CALLED(B, 0) && PRIOR_CALLED(B, 1) && PRIOR_CALLED(B, 2) && \
  PRIOR_CALLED(B, 3) && PRIOR_CALLED(B, 4) && PRIOR_CALLED(B, 5))

inline dostage(B) {   /* §3.1, B2, B4: a round batch is staged as soon as it closes */
  bst[B] = S_WAIT;
  k = 0;
  do
  :: k < NP ->
     if
     :: (bdst[B] & BIT(k)) && hs[me * NP + k] == H_LIVE && !closed[me * NP + k] ->
        send(me, k, STAGE, B, C[me], 0);
        bpend[B] = bpend[B] | BIT(k);
        bstg[B] = bstg[B] | BIT(k)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0;
  if
  :: bpend[B] == 0 -> bst[B] = S_DONE   /* no destination: delivered nowhere */
  :: bpend[B] != 0 && ev_node[bhead[B]] != NONE ->   /* a transfer: involve the owner, §11 */
     if
     :: hs[me * NP + ev_node[bhead[B]]] == H_LIVE && NOTICE_RULE ->
        send(me, ev_node[bhead[B]], NOTICE, B, C[me], 0);
        bpend[B] = bpend[B] | BIT(ev_node[bhead[B]])
     :: hs[me * NP + ev_node[bhead[B]]] != H_LIVE -> bxdead[B] = 1   /* carries a dead handle */
     :: else -> skip
     fi
  :: else -> skip
  fi
}

inline docall(B) {
  printf("T %d call b%d\n", me, B);
  i = 0;
  do   /* ghost: the batch's events are called in seq order; each has the earlier in its past */
  :: i < MAXE ->
     if
     :: ev_bat[i] == B ->
        hb[i] = past[me];
        past[me] = past[me] | BIT(i)
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0;
  /* B5: a fast batch that B4 holds back stays open and takes this turn's events; one that B4
   * lets go does not (B6: it goes as a fast batch, these events form the next batch) */
  t = NONE;
  if
  :: bjn[B] != NONE -> t = ev_bat[bhead[bjn[B]]]
  :: else -> skip
  fi;
  if
  :: t != NONE && bst[t] == S_CALLED && bfast[t] && !CAN_WIRE(t) ->
     printf("T %d b%d joins b%d\n", me, B, t);
     do
     :: i < MAXE ->
        if
        :: ev_bat[i] == B -> ev_bat[i] = t
        :: else -> skip
        fi;
        i++
     :: else -> break
     od;
     i = 0;
     bst[B] = S_DONE;
     B = t
  :: else -> skip
  fi;
  /* the batch's destinations; a fast batch: only fast events, to one peer (B2) */
  bdst[B] = 0;
  a = 1;
  do
  :: i < MAXE ->
     if
     :: ev_bat[i] == B ->
        bdst[B] = bdst[B] | ev_dst[i];
        if
        :: ev_kind[i] != K_FAST -> a = 0
        :: else -> skip
        fi
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0;
  if
  :: (bdst[B] & (bdst[B] - 1)) != 0 -> a = 0   /* two or more peers: a round batch */
  :: else -> skip
  fi;
  if
  :: ev_kind[bhead[B]] == K_FAST && a ->
     bfast[B] = 1;
     bto[B] = ev_to[bhead[B]];
     if
     :: hs[me * NP + bto[B]] == H_LIVE && !closed[me * NP + bto[B]] -> bst[B] = S_CALLED
     :: else -> bst[B] = S_DONE   /* dead handle: fails at once */
     fi
  :: ev_kind[bhead[B]] == K_RELEASE ->   /* §10: local count to zero, one release for all of it */
     bfast[B] = 1;
     bto[B] = ev_to[bhead[B]];
     if
     :: hs[me * NP + ev_node[bhead[B]]] == H_LIVE ->
        rval[bhead[B]] = hc[me * NP + ev_node[bhead[B]]];
        hs[me * NP + ev_node[bhead[B]]] = H_NONE;
        hc[me * NP + ev_node[bhead[B]]] = 0;
        bst[B] = S_CALLED
     :: else -> bst[B] = S_DONE
     fi
  :: ev_kind[bhead[B]] == K_DESTROY ->   /* §9.1: stage at itself and every current holder */
     ns[me] = N_DESTROYING;
     bst[B] = S_WAIT;
     C[me]++;
     QS(me, bhead[B]) = Q_STAGED;
     TS(me, bhead[B]) = C[me];
     maxup(B, C[me]);
     k = 0;
     do
     :: k < NP ->
        if
        :: k != me && cnt[me * NP + k] > 0 && !closed[me * NP + k] ->
           send(me, k, STAGE, B, C[me], 0);
           bpend[B] = bpend[B] | BIT(k);
           bstg[B] = bstg[B] | BIT(k)
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0
  :: else ->   /* a round batch (B2) */
     bfast[B] = 0;
     dostage(B)
  fi;
  if   /* B5: a batch is due at the end of its turn: a fast one B4 lets go goes now */
  :: bst[B] == S_CALLED && CAN_WIRE(B) -> dowire(B)
  :: else -> skip
  fi;
  a = 0;
  t = 0
}

#define CAN_DECIDE(B) (bsnd[B] == me && bst[B] == S_WAIT && bpend[B] == 0 && !bfast[B] && \
  R1_OK(B, 0) && R1_OK(B, 1) && R1_OK(B, 2) && R1_OK(B, 3) && R1_OK(B, 4) && R1_OK(B, 5))

/* does participant k still have an entry of batch B to commit (not refused, not aborted)? */
inline liveat(B, k) {
  a = (ev_kind[bhead[B]] == K_DESTROY);
  i = 0;
  do
  :: i < MAXE ->
     if
     :: ev_bat[i] == (B) && (ev_dst[i] & BIT(k)) && eab[i] == A_NONE -> a = 1
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0
}

inline pick(B) {   /* §3.3, B3: F_b = max(C + 1, every proposal) */
  q = C[me] + 1;
#ifdef MUT_MIN_FINAL
  l = C[me] + 1;
  if
  :: bmn[B] < l -> l = bmn[B]
  :: else -> skip
  fi;
#else
#ifdef MUT_DECIDE_NO_CLOCK
  l = bmx[B];   /* the sender's own clock left out */
  if
  :: l == 0 -> l = C[me] + 1
  :: else -> skip
  fi;
#else
  l = C[me] + 1;
  if
  :: bmx[B] > l -> l = bmx[B]
  :: else -> skip
  fi;
#endif
#endif
  c1(me, l);
  printf("T %d decide b%d final %d\n", me, B, l);
  bst[B] = S_DONE;
  /* R3: an entry a destination refused is aborted at the destinations that staged it */
  n = 0;
  do
  :: n < MAXE ->
     if
     :: ev_bat[n] == (B) && eab[n] == A_REFUSED ->
        k = 0;
        do
        :: k < NP ->
           if
           :: (ev_dst[n] & BIT(k)) && (bprp[B] & BIT(k)) -> send(me, k, ABORT, n, 0, 0)
           :: else -> skip
           fi;
           k++
        :: else -> break
        od
     :: else -> skip
     fi;
     n++
  :: else -> break
  od;
  n = 0;
  k = 0;
  do   /* one commit per participant, all carrying F_b (B2) */
  :: k < NP ->
     liveat(B, k);
     if
     :: (bprp[B] & BIT(k)) && a ->
#ifdef MUT_FINAL_PER_DEST
        v = q;   /* max(C + 1, this destination's proposal) */
        if
        :: bpp[(B) * NP + k] > v -> v = bpp[(B) * NP + k]
        :: else -> skip
        fi;
        send(me, k, COMMIT, B, v, bxdead[B]);
        v = 0;
#else
        send(me, k, COMMIT, B, l, bxdead[B]);
#endif
        bfin[B] = l
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0;
  a = 0;
  q = 0;
  if
  :: ev_kind[bhead[B]] == K_DESTROY ->   /* §9.3: destroyed at td; answer the held frames */
     bfin[B] = l;
     QS(me, bhead[B]) = Q_COMMITTED;
     TS(me, bhead[B]) = l;
     ns[me] = N_DESTROYED;
     tdk[me] = KEY(l, bhead[B]);
     do
     :: k < MAXB ->
        if
        :: held[me] & BIT(k) ->   /* B9: a whole batch frame answered at once */
           if
           :: bfast[k] -> send(me, bsnd[k], REJECT, k, 0, 0)   /* E_DESTROYED */
           :: else ->
              C[me]++;
              send(me, bsnd[k], DEAD, k, C[me], 0)
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

inline dodecide(B) {
  if
  :: ev_kind[bhead[B]] == K_DESTROY && ns[me] == N_DESTROYING ->
     /* §9.2 pick start: stage at holders that appeared meanwhile, hold frames until the pick */
     ns[me] = N_HOLDING;
     printf("T %d pick-start b%d\n", me, B);
#ifndef MUT_NO_RESTAGE
     k = 0;
     do
     :: k < NP ->
        if
        :: k != me && cnt[me * NP + k] > 0 && !(bstg[B] & BIT(k)) && !closed[me * NP + k] ->
           send(me, k, STAGE, B, C[me], 0);
           bpend[B] = bpend[B] | BIT(k);
           bstg[B] = bstg[B] | BIT(k)
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0
#endif
  :: else -> pick(B)
  fi
}

/* B8: the caller aborts one event of an undecided round batch; the rest of the batch goes on */
#define CAN_ABORT(E) (ev_snd[E] == me && ev_abt[E] && eab[E] == A_NONE && \
  bst[ev_bat[E]] == S_WAIT && !bfast[ev_bat[E]])

inline doabort(E) {
  printf("T %d aborts e%d\n", me, E);
  eab[E] = A_ABORTED;
  k = 0;
  do
  :: k < NP ->
     if
     :: (ev_dst[E] & BIT(k)) && (bstg[ev_bat[E]] & BIT(k)) -> send(me, k, ABORT, E, 0, 0)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0
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
  /* an aborted or refused event is delivered nowhere (§3.3 R3, §3.5) */
  P4_atomicity = (eab[E] == A_NONE);
  assert(P4_atomicity);
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
#define WAITS_ON(p, s, k) (bsnd[k] == (p) && bst[k] == S_WAIT && (bpend[k] & BIT(s)) != 0)
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
     :: bsnd[k] == (b) -> held[a] = held[a] & ~BIT(k)
     :: else -> skip
     fi;
     if
     :: bsnd[k] == (a) && bst[k] == S_WAIT && (bpend[k] & BIT(b)) ->
        bpend[k] = bpend[k] & ~BIT(b);   /* that destination is lost to the round */
        if
        :: bfast[k] -> bst[k] = S_DONE
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
#define RECV(J) :: nempty(link[(J) * NP + me]) -> link[(J) * NP + me]?m, e, v, x; s = J
/* One step of a kind: at most one batch (event) of a peer can take it (script order, B4, D1
 * picks the lowest key), so taking the first that can loses no interleaving; Unique_step
 * checks it. */
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
  byte e, v, s, k, q, n, l, i, t, x;
  bit a, qr;
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
       if   /* a quota peer may refuse a stage frame's entries (E_QUOTA, limits.md §4) */
       :: me == QUOTA_PEER && m == STAGE && ev_kind[bhead[e]] != K_DESTROY -> qr = 1
       :: true -> skip
       fi;
       d_step {
         if
         :: m == ABORT -> printf("T %d <- %d %e e%d %d x=%d\n", me, s, m, e, v, x)
         :: else -> printf("T %d <- %d %e b%d %d x=%d\n", me, s, m, e, v, x)
         fi;
         onframe();
         m = 0; e = 0; v = 0; x = 0; s = 0; qr = 0
       }
     }
  STEP(CAN_CALL, docall)
  STEP(CAN_WIRE, dowire)
  STEP(CAN_DECIDE, dodecide)
  STEP(CAN_ABORT, doabort)
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
  ev_trig[i] = trig;
  ev_bat[i] = i
}

inline inbatch(i, bb) {   /* row i goes in the batch of row bb (same sender, contiguous) */
  ev_bat[i] = bb
}

inline joins(bb, prev) {  /* batch bb joins batch prev while prev is a held fast batch (B5) */
  bjn[bb] = prev
}

inline abortable(i) {     /* its caller may abort it (B8): a round event */
  ev_abt[i] = 1
}

inline give(p, n, count) {   /* a bootstrap grant: p holds `count` references to node n */
  cnt[(n) * NP + (p)] = count;
  hs[(p) * NP + (n)] = H_LIVE;
  hc[(p) * NP + (n)] = count
}
