/*
 * Reconciliation after a sender crash (issue 22; design note shared/design/reconcile.md: T1-T4,
 * R5, signed finals), as a Promela model for spin. Like capbus.pml it models the SPEC's
 * algorithm, not packages/core; see spec/verification.md ("Reconciliation").
 *
 * A configuration defines NP, LINKCAP and optionally STOPPERS (peers that may crash, a bitmask),
 * EXPIRE_PAIRS (sender-destination sessions that may end, bit s*NP+d), BREAK_PAIRS
 * (destination-destination sessions that may break, bit a*NP+b with a < b) and FORGER (a
 * co-destination that may answer `committed` with a final its sender never signed); includes
 * this file; defines the inline setup() that fills the event table and choose() (a
 * nondeterministic initial state, may be `skip`); and includes reconcile-run.pml.
 *
 * Only what reconciliation touches is modelled: round multicasts (§3, one event per round,
 * abortable), fast unicasts (§6, for causal follow-ups), clocks (C1), the queue (D1). Not here:
 * batches, destroys, transfers, releases, quotas (capbus.pml has them). The sender is never one
 * of its own destinations.
 *
 * Steps: the sender sends its commits (or aborts) one per step, so it can crash between any two.
 * A sender-destination session may end at any point where the destination holds the sender's
 * event staged (stage timeout or crash detection), at both ends at once, flushing both links.
 * A session between two destinations ends (crash detected, or a partition) only when no frame is
 * in flight anywhere: grace and detection take longer than any round trip (the note's bound
 * max(stageTimeoutMs, deadAfterMs + graceMs) + dialTimeoutMs + 2 RTT). MUT_FAST_GIVEUP drops that.
 *
 * Mutations (-DMUT_...) break one rule each; scripts/model-runs.ts lists them.
 */

#define MAXE 2
#define NONE 255
#define FORGED 9      /* the final a forger writes: no sender in these configurations reaches it */

#define K_FAST  1     /* unicast, fast path (§6) */
#define K_ROUND 2     /* multicast round (§3) */

#define Q_NONE      0 /* never staged here */
#define Q_STAGED    1 /* staged at the proposal; while asking (T2) still staged, still blocking */
#define Q_COMMITTED 2
#define Q_DONE      3 /* delivered */
#define Q_GONE      4 /* aborted or dropped: answers `gone` */

#define S_IDLE    0   /* at its sender: not called yet */
#define S_WAIT    1   /* round: staged, proposals awaited / fast: on the wire */
#define S_SENDING 2   /* decided or aborted: the commits (aborts) go out one per step */
#define S_DONE    3

#ifndef STOPPERS
#define STOPPERS 0
#endif
#ifndef EXPIRE_PAIRS
#define EXPIRE_PAIRS 0
#endif
#ifndef BREAK_PAIRS
#define BREAK_PAIRS 0
#endif
#ifndef FORGER
#define FORGER NONE
#endif
#ifdef MUT_NO_VERIFY
#define VERIFY 0
#else
#define VERIFY 1
#endif

mtype = { STAGE, PROPOSE, COMMIT, ABORT, UNICAST, ACCEPT, QUERY, COMMITTED, FENCED, GONE };

/* link[s*NP+d] carries frames s -> d: kind, event, clock/lamport/final, x (a `committed` answer:
 * 1 if its signature does not verify, i.e. S never signed that (event, final)) */
chan link[NP*NP] = [LINKCAP] of { mtype, byte, byte, byte };

/* ---- the event table (constant after setup) ---- */
byte ev_snd[MAXE];   /* sender, NONE for an unused row */
byte ev_kind[MAXE];
byte ev_dst[MAXE];   /* destination peers (the `receivers` list, T1), bitmask */
byte ev_trig[MAXE];  /* called only after the sender delivered this event; NONE: any time */
byte ev_seq[MAXE];
bit  ev_abt[MAXE];   /* its caller may abort it while undecided (§3.5) */

/* ---- the sender's side ---- */
byte C[NP];
byte bst[MAXE];
byte bpend[MAXE];    /* proposals awaited */
byte bprp[MAXE];     /* destinations that proposed */
byte bstg[MAXE];     /* destinations staged at */
byte bmx[MAXE];      /* max proposal */
byte bfin[MAXE];     /* the final, once decided; S signs (e, final) once */
byte cpend[MAXE];    /* destinations whose commit (abort) is still to be sent */
bit  eab[MAXE];      /* aborted by its caller */

/* ---- a destination's side, per (peer, event) ---- */
byte qst[NP*MAXE];   /* Q_* */
byte qts[NP*MAXE];   /* proposal while staged, final once committed */
byte rfin[NP*MAXE];  /* the retained signed final (T3): answers `committed`; 0: none */
bit  ask[NP*MAXE];   /* T2: asking the other receivers */
byte waitm[NP*MAXE]; /* receivers whose answer is awaited */
byte gvup[NP*MAXE];  /* receivers given up (session ended): a drop with any is a fallback */
byte dfr[NP*MAXE];   /* askers deferred (T3: staged here, session with S alive) */
byte fto[NP*MAXE];   /* askers answered `fenced` (R5: relay a later commit to them) */
#ifdef MUT_ALL_COMMITTED
byte cval[NP*MAXE];  /* the final of a `committed` answer */
bit  nneg[NP*MAXE];  /* some answer was not `committed` */
#endif

bit closed[NP*NP];   /* the session between the two peers ended */
bit stopped[NP];

/* ---- ghosts: never read by the protocol ---- */
byte sprp[MAXE];     /* the destinations whose proposals S's decision counted */
byte sfin[MAXE];     /* the final S decided and signed (0: none, or aborted) */
byte hold[MAXE];     /* peers that committed the event (holders of its final) */
bit  fb[NP*MAXE];    /* the peer dropped it as a fallback (a receiver given up) */
byte nfb;            /* fallback drops: the remaining window, counted */
byte dpos[NP*MAXE];
byte dcnt[NP];
short lastk[NP];     /* key of the last delivery */
byte hb[MAXE];
byte past[NP];

hidden byte P1_total_order, P2_causality, P4_atomicity, P4_one_final, Queue_order;
hidden byte Unique_step, E_PROTOCOL_commit, Quiescent_no_staged_left, Quiescent_all_decided;
hidden byte Link_capacity, No_fallback;

#define BIT(i) (1 << (i))
#define KEY(l, e) ((l) * 16 + ev_snd[e] * 4 + ev_seq[e])
#define QS(p, e) qst[(p) * MAXE + (e)]
#define TS(p, e) qts[(p) * MAXE + (e)]
#define RF(p, e) rfin[(p) * MAXE + (e)]
#define ASK(p, e) ask[(p) * MAXE + (e)]
#define WAITM(p, e) waitm[(p) * MAXE + (e)]
#define GVUP(p, e) gvup[(p) * MAXE + (e)]
#define DFR(p, e) dfr[(p) * MAXE + (e)]
#define FTO(p, e) fto[(p) * MAXE + (e)]
#if NP > 3
#define QUIET (len(link[0]) + len(link[1]) + len(link[2]) + len(link[3]) + len(link[4]) + \
  len(link[5]) + len(link[6]) + len(link[7]) + len(link[8]) + len(link[9]) + len(link[10]) + \
  len(link[11]) + len(link[12]) + len(link[13]) + len(link[14]) + len(link[15]) == 0)
#else
#define QUIET (len(link[0]) + len(link[1]) + len(link[2]) + len(link[3]) + len(link[4]) + \
  len(link[5]) + len(link[6]) + len(link[7]) + len(link[8]) == 0)
#endif

inline send(from, to, mt, ev, val, fl) {
  if
  :: closed[(from) * NP + (to)] || stopped[to] -> skip   /* lost: nobody reads it */
  :: else ->
     Link_capacity = nfull(link[(from) * NP + (to)]);
     assert(Link_capacity);
     link[(from) * NP + (to)]!mt, ev, val, fl
  fi
}

inline sendmask(from, mask, mt, ev, val, fl) {   /* to every peer in mask */
  k = 0;
  do
  :: k < NP ->
     if
     :: (mask) & BIT(k) -> send(from, k, mt, ev, val, fl)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0
}

inline c1(p, val) {
  if
  :: (val) > C[p] -> C[p] = val
  :: else -> skip
  fi
}

/* Delivery of ev at p: P1, P2 and the queue order against everything delivered before. */
inline appdeliver(p, ev) {
  Queue_order = (KEY(TS(p, ev), ev) > lastk[p]);
  assert(Queue_order);
  lastk[p] = KEY(TS(p, ev), ev);
  q = 0;
  do
  :: q < NP ->
     if
     :: q != (p) && dpos[q * MAXE + (ev)] != 0 ->
        n = 0;
        do
        :: n < MAXE ->
           P1_total_order = (dpos[(p) * MAXE + n] == 0 || dpos[q * MAXE + n] == 0 ||
                             dpos[q * MAXE + n] < dpos[q * MAXE + (ev)]);
           assert(P1_total_order);
           n++
        :: else -> break
        od
     :: else -> skip
     fi;
     q++
  :: else -> break
  od;
  n = 0;
  do
  :: n < MAXE ->
     P2_causality = (dpos[(p) * MAXE + n] == 0 || (hb[n] & BIT(ev)) == 0);
     assert(P2_causality);
     n++
  :: else -> break
  od;
  dcnt[p]++;
  dpos[(p) * MAXE + (ev)] = dcnt[p];
  past[p] = past[p] | hb[ev] | BIT(ev);
  q = 0;
  n = 0
}

/* ---------------- reconciliation (T2-T4, R5) ---------------- */

inline dropit(a, ev) {   /* T4: the asker drops e */
  ASK(a, ev) = 0;
  QS(a, ev) = Q_GONE;
  if
  :: GVUP(a, ev) != 0 ->   /* the remaining window: counted, and flagged for P4 */
     fb[(a) * MAXE + (ev)] = 1;
     nfb++;
     printf("T %d fallback drop e%d (a receiver given up)\n", a, ev)
  :: else -> printf("T %d drops e%d (the others answered fenced or gone)\n", a, ev)
  fi
}

inline checkdrop(a, ev) {   /* T4: drop when every other receiver answered or was given up */
  if
  :: ASK(a, ev) && WAITM(a, ev) == 0 -> dropit(a, ev)
  :: else -> skip
  fi
}

inline rcommit(a, ev, val) {   /* T4: commit at the final by reconciliation; R5 relays it */
  QS(a, ev) = Q_COMMITTED;
#ifndef MUT_OWN_PROPOSAL
  TS(a, ev) = val;   /* (MUT_OWN_PROPOSAL: it stays at a's own proposal) */
#endif
  RF(a, ev) = val;
  ASK(a, ev) = 0;
  WAITM(a, ev) = 0;
  c1(a, val);
  hold[ev] = hold[ev] | BIT(a);
  printf("T %d commits e%d at %d by reconciliation\n", a, ev, val);
#ifndef MUT_NO_RELAY
  sendmask(a, FTO(a, ev), COMMITTED, ev, val, 0);
#endif
  FTO(a, ev) = 0
}

inline t2(a, ev) {   /* T2: keep e staged (blocking), ask every other listed receiver */
  w = ev_dst[ev] & ~BIT(a);
  if
  :: w == 0 -> QS(a, ev) = Q_GONE   /* no other receiver: drop as before */
  :: else ->
     ASK(a, ev) = 1;
     printf("T %d asks about e%d\n", a, ev);
     k = 0;
     do
     :: k < NP ->
        if
        :: (w & BIT(k)) && closed[(a) * NP + k] -> GVUP(a, ev) = GVUP(a, ev) | BIT(k)  /* dial fails */
        :: (w & BIT(k)) && !closed[(a) * NP + k] ->
           send(a, k, QUERY, ev, 0, 0);
           WAITM(a, ev) = WAITM(a, ev) | BIT(k)
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     k = 0;
     checkdrop(a, ev)
  fi;
  w = 0
}

/* a's view of its session with b ending: as sender (b lost to the round), as destination of b's
 * events (T2), as an asker (b given up) or an answerer (b's deferred query dropped) */
inline lose(a, b) {
  i = 0;
  do
  :: i < MAXE ->
     DFR(a, i) = DFR(a, i) & ~BIT(b);
     FTO(a, i) = FTO(a, i) & ~BIT(b);
     if
     :: ev_snd[i] == (b) && QS(a, i) == Q_STAGED && ev_kind[i] == K_ROUND ->
        /* T3: the deferred askers get `fenced` now (and R5 later) */
        sendmask(a, DFR(a, i), FENCED, i, 0, 0);
        FTO(a, i) = FTO(a, i) | DFR(a, i);
        DFR(a, i) = 0;
        t2(a, i)
     :: ev_snd[i] == (b) && QS(a, i) == Q_NONE && DFR(a, i) != 0 ->   /* never staged, never will be */
        sendmask(a, DFR(a, i), GONE, i, 0, 0);
        DFR(a, i) = 0
     :: else -> skip
     fi;
     if
     :: ev_snd[i] == (a) ->
        bpend[i] = bpend[i] & ~BIT(b);   /* lost to the round; its commit is lost */
        cpend[i] = cpend[i] & ~BIT(b);
        if
        :: ev_kind[i] == K_FAST && bst[i] == S_WAIT -> bst[i] = S_DONE
        :: else -> skip
        fi
     :: else -> skip
     fi;
     if
     :: ASK(a, i) && (WAITM(a, i) & BIT(b)) ->   /* T4: given up */
        WAITM(a, i) = WAITM(a, i) & ~BIT(b);
        GVUP(a, i) = GVUP(a, i) | BIT(b);
        checkdrop(a, i)
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0
}

inline endsession(a, b) {
  printf("T %d session with %d ends\n", a, b);
  closed[(a) * NP + (b)] = 1;
  closed[(b) * NP + (a)] = 1;
  do
  :: nempty(link[(a) * NP + (b)]) -> link[(a) * NP + (b)]?_, _, _, _
  :: empty(link[(a) * NP + (b)]) -> break
  od;
  do
  :: nempty(link[(b) * NP + (a)]) -> link[(b) * NP + (a)]?_, _, _, _
  :: empty(link[(b) * NP + (a)]) -> break
  od;
  lose(a, b);
  lose(b, a)
}

/* ---------------- frames ---------------- */

inline onstage() {   /* §3.2 */
  c1(me, v);
  C[me]++;
  QS(me, e) = Q_STAGED;
  TS(me, e) = C[me];
  send(me, s, PROPOSE, e, C[me], 0)
  /* askers deferred before the stage arrived stay deferred (T3) */
}

inline onpropose() {   /* §3.3 */
  bpend[e] = bpend[e] & ~BIT(s);
  bprp[e] = bprp[e] | BIT(s);
  if
  :: v > bmx[e] -> bmx[e] = v
  :: else -> skip
  fi
}

inline oncommit() {   /* §3.4 */
  E_PROTOCOL_commit = (QS(me, e) == Q_STAGED && v >= TS(me, e));
  assert(E_PROTOCOL_commit);
  QS(me, e) = Q_COMMITTED;
  TS(me, e) = v;
  RF(me, e) = v;
  c1(me, v);
  hold[e] = hold[e] | BIT(me);
  sendmask(me, DFR(me, e), COMMITTED, e, v, 0);   /* T3: the deferred askers */
  DFR(me, e) = 0;
  sendmask(me, FTO(me, e), COMMITTED, e, v, 0);   /* R5 (empty while the session lives) */
  FTO(me, e) = 0
}

inline onabort() {   /* §3.5 */
  if
  :: QS(me, e) == Q_STAGED ->
     QS(me, e) = Q_GONE;
     sendmask(me, DFR(me, e), GONE, e, 0, 0);
     DFR(me, e) = 0
  :: else -> skip
  fi
}

inline onunicast() {   /* §6 */
  c1(me, v);
  C[me]++;
  QS(me, e) = Q_COMMITTED;
  TS(me, e) = C[me];
  send(me, s, ACCEPT, e, C[me], 0)
}

inline onaccept() {
  c1(me, v);
  bfin[e] = v;
  sfin[e] = v;
  bst[e] = S_DONE
}

inline onquery() {   /* T3, at receiver me, asked by s about e */
  if
  :: fq -> send(me, s, COMMITTED, e, FORGED, 1)   /* a forgery: S never signed (e, FORGED) */
  :: !fq && RF(me, e) != 0 -> send(me, s, COMMITTED, e, RF(me, e), 0)
  :: !fq && RF(me, e) == 0 && QS(me, e) == Q_STAGED && !closed[ev_snd[e] * NP + me] ->
#ifdef MUT_FENCED_AT_ONCE
     send(me, s, FENCED, e, 0, 0);
     FTO(me, e) = FTO(me, e) | BIT(s)
#else
     DFR(me, e) = DFR(me, e) | BIT(s)   /* defer: S's commit, abort or session end answers */
#endif
  :: !fq && RF(me, e) == 0 && QS(me, e) == Q_STAGED && closed[ev_snd[e] * NP + me] ->
     send(me, s, FENCED, e, 0, 0);
     FTO(me, e) = FTO(me, e) | BIT(s)
  :: !fq && RF(me, e) == 0 && QS(me, e) == Q_NONE && !closed[ev_snd[e] * NP + me] ->
#ifdef MUT_GONE_UNSEEN
     send(me, s, GONE, e, 0, 0)   /* the design note's T3: `gone` if never staged */
#else
     DFR(me, e) = DFR(me, e) | BIT(s)   /* its stage may still be on the way: defer */
#endif
  :: else -> send(me, s, GONE, e, 0, 0)   /* aborted, dropped, never staged (S gone), forgotten */
  fi
}

#ifdef MUT_ALL_COMMITTED
inline allcommitted(a, ev) {   /* the mutation: commit only if every answer was `committed` */
  if
  :: ASK(a, ev) && WAITM(a, ev) == 0 && !nneg[(a) * MAXE + (ev)] && GVUP(a, ev) == 0 &&
     cval[(a) * MAXE + (ev)] >= TS(a, ev) -> rcommit(a, ev, cval[(a) * MAXE + (ev)])
  :: else -> checkdrop(a, ev)
  fi
}
#endif

inline onanswer() {   /* T4, at asker me: s answered about e */
  if
  :: !ASK(me, e) -> skip   /* decided already: late answers and relays change nothing */
  :: ASK(me, e) && m == COMMITTED && x && VERIFY ->
     /* the signature does not verify: a protocol error ends the session, s is given up */
     printf("T %d refuses a forged committed from %d\n", me, s);
     endsession(me, s)
  :: ASK(me, e) && m == COMMITTED && !(x && VERIFY) ->
#ifdef MUT_ALL_COMMITTED
     cval[me * MAXE + e] = v;
     WAITM(me, e) = WAITM(me, e) & ~BIT(s);
     allcommitted(me, e)
#else
#ifdef MUT_NO_FINAL_CHECK
     rcommit(me, e, v)
#else
     if
     :: v >= TS(me, e) -> rcommit(me, e, v)
     :: else ->   /* S decided without me: P4(a) */
        printf("T %d drops e%d: final %d below its proposal %d\n", me, e, v, TS(me, e));
        ASK(me, e) = 0;
        QS(me, e) = Q_GONE
     fi
#endif
#endif
  :: ASK(me, e) && m != COMMITTED ->
     WAITM(me, e) = WAITM(me, e) & ~BIT(s);
#ifdef MUT_DROP_AT_FENCED
     if
     :: m == FENCED -> WAITM(me, e) = 0
     :: else -> skip
     fi;
#endif
#ifdef MUT_ALL_COMMITTED
     nneg[me * MAXE + e] = 1;
     allcommitted(me, e)
#else
     checkdrop(me, e)
#endif
  fi
}

inline onframe() {
  if
  :: m == STAGE -> onstage()
  :: m == PROPOSE -> onpropose()
  :: m == COMMIT -> oncommit()
  :: m == ABORT -> onabort()
  :: m == UNICAST -> onunicast()
  :: m == ACCEPT -> onaccept()
  :: m == QUERY -> onquery()
  :: m == COMMITTED || m == FENCED || m == GONE -> onanswer()
  fi
}

/* ---------------- local steps ---------------- */

#define CAN_CALL(E) (ev_snd[E] == me && bst[E] == S_IDLE && \
  (ev_trig[E] == NONE || dpos[me * MAXE + ev_trig[E]] != 0))

inline docall(E) {
  printf("T %d call e%d\n", me, E);
  hb[E] = past[me];
  past[me] = past[me] | BIT(E);
  bst[E] = S_WAIT;
  k = 0;
  do
  :: k < NP ->
     if
     :: (ev_dst[E] & BIT(k)) && !closed[me * NP + k] ->
        if
        :: ev_kind[E] == K_ROUND -> send(me, k, STAGE, E, C[me], 0)
        :: else -> send(me, k, UNICAST, E, C[me], 0)
        fi;
        bpend[E] = bpend[E] | BIT(k);
        bstg[E] = bstg[E] | BIT(k)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 0;
  if
  :: bpend[E] == 0 -> bst[E] = S_DONE
  :: else -> skip
  fi
}

#define CAN_DECIDE(E) (ev_snd[E] == me && ev_kind[E] == K_ROUND && bst[E] == S_WAIT && bpend[E] == 0)

inline dodecide(E) {   /* §3.3: final = max(C + 1, proposals); S signs (E, final) once */
  l = C[me] + 1;
  if
  :: bmx[E] > l -> l = bmx[E]
  :: else -> skip
  fi;
  C[me] = l;
  bfin[E] = l;
  sfin[E] = l;
  sprp[E] = bprp[E];
  printf("T %d decide e%d final %d\n", me, E, l);
  cpend[E] = bprp[E];
  bst[E] = S_SENDING;
  if
  :: cpend[E] == 0 -> bst[E] = S_DONE
  :: else -> skip
  fi;
  l = 0
}

#define CAN_ABORT(E) (ev_snd[E] == me && ev_abt[E] && !eab[E] && bst[E] == S_WAIT)

inline doabort(E) {
  printf("T %d aborts e%d\n", me, E);
  eab[E] = 1;
  cpend[E] = bstg[E];
  bst[E] = S_SENDING
  /* bstg is never empty here: a round with no destination is done at its call */
}

#define CAN_SEND(E) (ev_snd[E] == me && bst[E] == S_SENDING)

inline dosend(E) {   /* one commit (abort) per step: the sender may crash between them */
  k = 0;
  do
  :: k < NP && (cpend[E] & BIT(k)) -> break
  :: k >= NP -> break
  :: else -> k++
  od;
  if
  :: k == NP -> skip
  :: eab[E] -> send(me, k, ABORT, E, 0, 0)
  :: else -> send(me, k, COMMIT, E, bfin[E], 0)
  fi;
  cpend[E] = cpend[E] & ~BIT(k);
  if
  :: cpend[E] == 0 -> bst[E] = S_DONE
  :: else -> skip
  fi;
  k = 0
}

/* D1 (§7): deliver the lowest entry, only when it is committed; a staged entry blocks, also
 * while its holder asks (T2) */
#ifdef MUT_NO_BLOCK
#define BLOCKS(p, k) ((QS(p, k) == Q_STAGED && !ASK(p, k)) || QS(p, k) == Q_COMMITTED)
#else
#define BLOCKS(p, k) (QS(p, k) == Q_STAGED || QS(p, k) == Q_COMMITTED)
#endif
#define LOW_OK(p, E, k) ((k) == (E) || !BLOCKS(p, k) || KEY(TS(p, k), k) > KEY(TS(p, E), E))
#define CAN_DELIVER(E) (QS(me, E) == Q_COMMITTED && LOW_OK(me, E, 0) && LOW_OK(me, E, 1))

inline dodeliver(E) {
  QS(me, E) = Q_DONE;
  printf("T %d deliver e%d ts %d\n", me, E, TS(me, E));
  /* an aborted event is delivered nowhere; a delivered one has the final S decided (a forger's
   * own deliveries are not checked) */
  P4_atomicity = (!eab[E] || me == FORGER);
  assert(P4_atomicity);
  P4_one_final = (TS(me, E) == sfin[E] || ev_kind[E] == K_FAST || me == FORGER);
  assert(P4_one_final);
#ifdef MUT_FORGET_AT_DELIVERY
  RF(me, E) = 0;
#endif
  appdeliver(me, E)
}

/* a sender-destination session ends at any point where the destination holds the sender's event
 * staged (stage timeout, or the sender crashed and was detected), or where the sender waits on
 * a proposal of a crashed destination */
#define STAGED_FROM(p, s, k) (QS(p, k) == Q_STAGED && ev_snd[k] == (s))
#define WAITS_ON(p, d, k) (ev_snd[k] == (p) && bst[k] == S_WAIT && (bpend[k] & BIT(d)))
#define CAN_EXPIRE(S) (!closed[(S) * NP + me] && \
  (((EXPIRE_PAIRS & BIT((S) * NP + me)) && (STAGED_FROM(me, S, 0) || STAGED_FROM(me, S, 1))) || \
   ((EXPIRE_PAIRS & BIT(me * NP + (S))) && stopped[S] && (WAITS_ON(me, S, 0) || WAITS_ON(me, S, 1)))))
/* a session between destinations ends: the other crashed and me waits on it, or a partition;
 * only with nothing in flight (grace outlasts every round trip) */
#define AWAITS(p, r, k) (ASK(p, k) && (WAITM(p, k) & BIT(r)))
#ifdef MUT_FAST_GIVEUP
#define SLOW_OK 1
#else
#define SLOW_OK QUIET
#endif
#define CAN_BREAK(R) ((R) != me && !closed[me * NP + (R)] && SLOW_OK && \
  ((stopped[R] && (AWAITS(me, R, 0) || AWAITS(me, R, 1))) || \
   ((R) > me && (BREAK_PAIRS & BIT(me * NP + (R))))))

/* A receive option per link J->me. */
#define RECV(J) :: nempty(link[(J) * NP + me]) -> link[(J) * NP + me]?m, e, v, x; s = J
#define ANY(CAN) (CAN(0) || CAN(1))
#define STEP(CAN, DO) :: d_step { ANY(CAN) -> \
  e = 0; \
  do \
  :: CAN(e) -> break \
  :: else -> e++ \
  od; \
  k = e + 1; \
  do \
  :: k < MAXE -> Unique_step = !CAN(k); assert(Unique_step); k++ \
  :: else -> break \
  od; \
  k = 0; \
  DO(e); \
  e = 0 }
#define EXPIRE(S) :: CAN_EXPIRE(S) -> s = S
#define BREAK(R) :: CAN_BREAK(R) -> s = R

proctype peer(byte me) {
  mtype m;
  byte e, v, s, k, q, n, l, i, w, x;
  bit fq;
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
       if   /* the forger may answer any query with a forged `committed` */
       :: me == FORGER && m == QUERY -> fq = 1
       :: true -> skip
       fi;
       d_step {
         printf("T %d <- %d %e e%d %d x=%d\n", me, s, m, e, v, x);
         onframe();
         m = 0; e = 0; v = 0; x = 0; s = 0; fq = 0
       }
     }
  STEP(CAN_CALL, docall)
  STEP(CAN_DECIDE, dodecide)
  STEP(CAN_ABORT, doabort)
  STEP(CAN_SEND, dosend)
  STEP(CAN_DELIVER, dodeliver)
  :: atomic {   /* a sender-destination session ends */
       if
       EXPIRE(0)
       EXPIRE(1)
       EXPIRE(2)
#if NP > 3
       EXPIRE(3)
#endif
       fi;
       d_step { endsession(me, s); s = 0 }
     }
  :: atomic {   /* a destination-destination session ends */
       if
       BREAK(0)
       BREAK(1)
       BREAK(2)
#if NP > 3
       BREAK(3)
#endif
       fi;
       d_step { endsession(me, s); s = 0 }
     }
  :: (STOPPERS & BIT(me)) && !stopped[me] ->
     d_step {   /* crash, for good: what was sent to it is lost */
       printf("T %d stops\n", me);
       stopped[me] = 1;
       k = 0;
       do
       :: k < NP ->
          do
          :: nempty(link[k * NP + me]) -> link[k * NP + me]?_, _, _, _
          :: empty(link[k * NP + me]) -> break
          od;
          k++
       :: else -> break
       od;
       k = 0
     };
     break
  od
}

/* ---------------- configuration helpers ---------------- */

inline defev(i, snd, kind, dst, trig) {
  ev_snd[i] = snd;
  ev_kind[i] = kind;
  ev_dst[i] = dst;
  ev_trig[i] = trig
}

inline abortable(i) {
  ev_abt[i] = 1
}
