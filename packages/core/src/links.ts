/**
 * The peer's sessions by remote peer id, and how it comes to have one (spec/bootstrap.md):
 * endpoints the peer listens on and has learnt for others, dialling a peer it must reach (the
 * owner of a handle it received), and waiting for that link, within a dial timeout.
 */
import { CapbusError, CoreErrorCode } from "./errors.js";
import type { LinkClosedInfo } from "./link.js";
import type { Runtime } from "./runtime.js";
import type { LinkSession } from "./session.js";
import { SessionErrorCode } from "./session-errors.js";

/** Open a link to `remote` at one of `endpoints` and hand it to `peer.connect(link, remote)`. */
export type Dial = (remote: string, endpoints: readonly string[]) => void;

/**
 * Bounds on endpoints kept (spec/limits.md §4): per peer, the first 8 URLs within 4 KiB; per
 * session, hints about at most 256 third peers and 64 KiB of their URLs, the oldest evicted.
 * Before them a linked peer could send hints about any number of peer ids, kept forever: a victim
 * died of OOM after 4 GB of them (issue 17).
 */
export const ENDPOINT_BOUNDS = {
  urlsPerPeer: 8,
  charsPerPeer: 4096,
  hintedPerSession: 256,
  hintCharsPerSession: 64 * 1024,
  /** Peers remembered as lost (`lost()`), the oldest forgotten first. */
  lostPeers: 4096,
} as const;

/** Hints a session's remote left about third peers, oldest first. */
interface SessionHints {
  readonly byPeer: Map<string, readonly string[]>;
  chars: number;
}

export interface LinksOptions {
  readonly local: string;
  readonly runtime: Runtime;
  readonly dial: Dial | undefined;
  readonly dialTimeoutMs: number;
  /**
   * Sessions kept at most. A new one beyond it expires the session detached longest ago, or, with
   * none detached, is closed with E_LINK_QUOTA (spec/limits.md §4).
   */
  readonly maxLinks: number;
  /** A session with `remote` is up (new or replacing one). */
  readonly up: (remote: string) => void;
  /** `remote` could not be reached: `code` E_UNREACHABLE (the dial timeout) or E_WRONG_PEER. */
  readonly unreachable: (remote: string, code: CoreErrorCode) => void;
  /** Does the peer hold a handle to a node of `owner` (so its endpoints are still needed)? */
  readonly refers: (owner: string) => boolean;
}

interface Waiter {
  readonly resolve: (session: LinkSession) => void;
  readonly reject: (error: CapbusError) => void;
}

export class Links {
  readonly #sessions = new Map<string, LinkSession>();
  readonly #own: string[] = [];
  /**
   * Endpoints to dial, by peer: its own advertisement, a capability URL's, or the hint of the
   * peer that sent one of its handles. Kept while a session, a reach or a handle needs them.
   */
  readonly #known = new Map<string, readonly string[]>();
  /** Hints about third peers per session, used only when that session's remote sends their handles. */
  readonly #hints = new WeakMap<LinkSession, SessionHints>();
  readonly #waiters = new Map<string, Waiter[]>();
  /** Dials in progress: remote → cancel its timeout. */
  readonly #dialing = new Map<string, () => void>();
  /** Endpoint hints already sent on a session, by the peer they describe. */
  readonly #told = new WeakMap<LinkSession, Set<string>>();
  /** Hints owed: sessions given a handle of a peer whose endpoints were not known yet. */
  readonly #owed = new Map<string, Set<LinkSession>>();
  /** Reaches started with no endpoint to dial: a late hint dials them (within the timeout). */
  readonly #undialled = new Set<string>();
  /** Peers whose session ended: nobody waits for them to link. */
  readonly #gone = new Set<string>();
  readonly #options: LinksOptions;

  constructor(options: LinksOptions) {
    this.#options = options;
  }

  get(remote: string): LinkSession | undefined {
    return this.#sessions.get(remote);
  }

  has(remote: string): boolean {
    return this.#sessions.has(remote);
  }

  /** Remote peers with a session (the peer itself excluded). */
  remotes(): string[] {
    return [...this.#sessions.keys()].filter((id) => id !== this.#options.local);
  }

  all(): LinkSession[] {
    return [...this.#sessions.values()];
  }

  /** Peers whose endpoints are kept (stats). */
  get knownPeers(): number {
    return this.#known.size;
  }

  /** Hints about third peers kept with sessions, in all (stats). */
  get hintedPeers(): number {
    let total = 0;
    for (const session of this.#sessions.values()) total += this.#hints.get(session)?.byPeer.size ?? 0;
    return total;
  }

  /** Peers remembered as lost (stats). */
  get lostPeers(): number {
    return this.#gone.size;
  }

  /** Where this peer listens, as advertised to every linked peer. */
  get endpoints(): readonly string[] {
    return this.#own;
  }

  register(session: LinkSession, remote: string): void {
    const existing = this.#sessions.get(remote);
    if (existing && !existing.closed) {
      session.close("E_PROTOCOL", `already linked to ${remote}`);
      return;
    }
    if (!existing && !this.#makeRoom()) {
      session.close(SessionErrorCode.E_LINK_QUOTA, `no room for more than ${this.#options.maxLinks} links`);
      return;
    }
    // Registered before its handshake (a dial): sends queue in it, but the remote counts as
    // reached, and a lost remote as back, only once the handshake completes (`established`).
    session.remote = remote;
    this.#sessions.set(remote, session);
    if (remote !== this.#options.local && this.#own.length > 0) {
      session.send({ type: "endpoints", peer: this.#options.local, urls: [...this.#own] });
    }
  }

  /**
   * Room for one more session: below maxLinks, or after expiring the session detached longest
   * ago. A detached session holds its slot only while nobody else needs it: otherwise a stranger
   * that links and drops, over and over with fresh keys, would hold every slot through the
   * grace and lock every newcomer out. Live sessions are never displaced. False: no room.
   */
  #makeRoom(): boolean {
    if (this.#sessions.size < this.#options.maxLinks) return true;
    let oldest: LinkSession | undefined;
    for (const held of this.#sessions.values()) {
      const at = held.detachedAt;
      if (at !== undefined && !held.closed && (oldest === undefined || at < oldest.detachedAt!))
        oldest = held;
    }
    if (!oldest) return false;
    // Expiring it ends it as its grace would have (the remote counts as crashed), and removes it.
    oldest.expire(`displaced: ${this.#options.maxLinks} links held and a new one came`);
    return this.#sessions.size < this.#options.maxLinks;
  }

  /**
   * The first handshake of `session` completed (a new session, not a resume): its remote is
   * reached, and no longer lost. Nothing earlier may count as that: a dial to a crashed peer can
   * register a session whose handshake never completes.
   */
  established(session: LinkSession): void {
    const remote = session.remote;
    if (remote === undefined || this.#sessions.get(remote) !== session) return;
    this.#gone.delete(remote);
    this.#dialing.get(remote)?.();
    this.#dialing.delete(remote);
    for (const waiter of this.#waiters.get(remote)?.splice(0) ?? []) waiter.resolve(session);
    this.#options.up(remote);
  }

  /**
   * The session ended: forget it (a later link starts a new one). Only an established one makes
   * its remote lost; one whose handshake never completed ends the dial: with E_WRONG_PEER (the
   * peer at the endpoint is someone else) the remote is unreachable at once, and its waiters
   * fail with that code; otherwise the dial timeout decides.
   */
  remove(session: LinkSession, info?: LinkClosedInfo): boolean {
    const remote = session.remote;
    if (remote === undefined || this.#sessions.get(remote) !== session) return false;
    this.#sessions.delete(remote);
    if (session.id !== undefined) this.#lostPeer(remote);
    else if (info?.code === CoreErrorCode.E_WRONG_PEER) this.#giveUp(remote, wrongPeer(remote, info));
    for (const [owner, owed] of this.#owed)
      if (owed.delete(session) && owed.size === 0) this.#owed.delete(owner);
    this.forget(remote);
    return true;
  }

  /**
   * Drop what is kept about `peer`'s endpoints unless something still needs them: a session, a
   * reach under way, or a handle to one of its nodes. The peer calls it when its last such handle goes.
   */
  forget(peer: string): void {
    if (this.#sessions.has(peer) || this.#dialing.has(peer) || this.#options.refers(peer)) return;
    this.#known.delete(peer);
  }

  /** Remember `remote` as lost; the oldest lost peers are forgotten beyond ENDPOINT_BOUNDS.lostPeers. */
  #lostPeer(remote: string): void {
    this.#gone.delete(remote);
    this.#gone.add(remote);
    if (this.#gone.size <= ENDPOINT_BOUNDS.lostPeers) return;
    for (const oldest of this.#gone) {
      this.#gone.delete(oldest);
      return;
    }
  }

  /** Listen on one more endpoint: every linked peer is told. */
  advertise(url: string): void {
    if (this.#own.includes(url)) return;
    this.#own.push(url);
    for (const [remote, session] of this.#sessions) {
      if (remote !== this.#options.local)
        session.send({ type: "endpoints", peer: this.#options.local, urls: [...this.#own] });
    }
  }

  /**
   * Endpoints learnt for `peer` (from its own frame, a hint, or a capability URL). Hints owed
   * for it go out now, and a reach of it that had nothing to dial dials now.
   */
  learn(peer: string, urls: readonly string[]): void {
    const kept = clip(urls);
    if (peer === this.#options.local || kept.length === 0) return;
    this.#known.set(peer, kept);
    const owed = this.#owed.get(peer);
    this.#owed.delete(peer);
    for (const session of owed ?? []) if (!session.closed) this.hint(session, peer);
    if (this.#undialled.delete(peer) && this.#dialing.has(peer) && !this.#sessions.has(peer))
      this.#options.dial?.(peer, [...urls]);
  }

  /**
   * `session`'s remote tells where `peer`, a third peer, listens. Taken at once only for a reach
   * waiting for an endpoint (a handle of `peer` came before its hint); otherwise kept with the
   * session, within its bounds, until its remote sends a handle of `peer` (`reach(peer, via)`).
   */
  hinted(session: LinkSession, peer: string, urls: readonly string[]): void {
    if (peer === this.#options.local || peer === session.remote) return;
    if (this.#undialled.has(peer)) return this.learn(peer, urls);
    const kept = clip(urls);
    if (kept.length === 0) return;
    let hints = this.#hints.get(session);
    if (!hints) {
      hints = { byPeer: new Map(), chars: 0 };
      this.#hints.set(session, hints);
    }
    const earlier = hints.byPeer.get(peer);
    if (earlier) {
      hints.byPeer.delete(peer);
      hints.chars -= chars(earlier);
    }
    hints.byPeer.set(peer, kept);
    hints.chars += chars(kept);
    for (const [oldest, urls] of hints.byPeer) {
      if (
        hints.byPeer.size <= ENDPOINT_BOUNDS.hintedPerSession &&
        hints.chars <= ENDPOINT_BOUNDS.hintCharsPerSession
      )
        break;
      hints.byPeer.delete(oldest);
      hints.chars -= chars(urls);
    }
  }

  /**
   * Before sending `session`'s peer a handle of `owner`: tell it where `owner` listens, once.
   * Not known yet (a handle passed on right after linking): owed, and sent once learnt.
   */
  hint(session: LinkSession, owner: string): void {
    if (owner === session.remote) return;
    const urls = this.#known.get(owner) ?? (owner === this.#options.local ? this.#own : undefined);
    if (!urls || urls.length === 0) {
      if (owner === this.#options.local) return;
      const owed = this.#owed.get(owner) ?? new Set();
      for (const earlier of owed) if (earlier.closed) owed.delete(earlier);
      owed.add(session);
      this.#owed.set(owner, owed);
      return;
    }
    let told = this.#told.get(session);
    if (!told) {
      told = new Set();
      this.#told.set(session, told);
    }
    if (told.has(owner)) return;
    told.add(owner);
    session.send({ type: "endpoints", peer: owner, urls: [...urls] });
  }

  /**
   * Take what `session`'s remote hinted about `peer`, if nothing is known of it: a multicast's
   * sender hints its co-destinations, which its receivers dial if it dies (spec/ordering.md §16 T1).
   */
  hintFrom(session: LinkSession, peer: string): void {
    if (this.#known.has(peer)) return;
    const hint = this.#hints.get(session)?.byPeer.get(peer);
    if (hint) this.learn(peer, hint);
  }

  /**
   * Start reaching `remote` if there is no session and no dial yet: a handle of its arrived from
   * `via`, whose hint about `remote` (if any, and none is known) is taken now.
   */
  reach(remote: string, via?: string): void {
    if (via !== undefined && !this.#known.has(remote)) {
      const sender = this.#sessions.get(via);
      const hint = sender && this.#hints.get(sender)?.byPeer.get(remote);
      if (hint) this.learn(remote, hint);
    }
    const session = this.#sessions.get(remote);
    if (session?.id !== undefined || this.#dialing.has(remote) || remote === this.#options.local) return;
    const { dial, runtime, dialTimeoutMs } = this.#options;
    const urls = this.#known.get(remote);
    // With no way to dial (no dialler, or no endpoint known: a browser page, say), the remote may
    // still link in by itself within the timeout; otherwise it is unreachable (bootstrap.md D5).
    this.#dialing.set(
      remote,
      runtime.setTimer(dialTimeoutMs, () => this.#giveUp(remote)),
    );
    // A session in its first handshake is a dial already under way: only the timeout is new.
    // With nothing to dial yet, a late endpoint hint starts the dial (learn).
    if (session) return;
    if (dial && urls) dial(remote, urls);
    else this.#undialled.add(remote);
  }

  /**
   * An established session with `remote`, waiting for a dial in progress (or starting one) if
   * needed: a session still in its first handshake may yet turn out to be with someone else.
   */
  session(remote: string): Promise<LinkSession> {
    const session = this.#sessions.get(remote);
    if (session?.id !== undefined) return Promise.resolve(session);
    // A reach under way (a handle of `remote` arrived) may yet dial on a late hint, or the
    // remote may link in: wait for it, within its dial timeout, rather than fail now. Not for a
    // peer whose session ended: no hint is coming that was not sent while linked.
    const hinted = this.#dialing.has(remote) && !this.#gone.has(remote);
    if (!session && !hinted && (!this.#options.dial || !this.#known.has(remote))) {
      return Promise.reject(new CapbusError("E_NO_LINK", `no link to ${remote} and no way to dial it`));
    }
    this.reach(remote);
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters.get(remote) ?? [];
      waiters.push({ resolve, reject });
      this.#waiters.set(remote, waiters);
    });
  }

  /** Did the session with `remote` end, with no new one established since? */
  lost(remote: string): boolean {
    return this.#gone.has(remote);
  }

  /** Is `remote` expected to link soon: never linked (a new holder dialling in), not gone? */
  awaited(remote: string): boolean {
    return !this.#sessions.has(remote) && !this.#gone.has(remote);
  }

  /** `remote` is not reached: within the dial timeout, or for good (`error`, E_WRONG_PEER). */
  #giveUp(remote: string, error?: CapbusError): void {
    this.#dialing.get(remote)?.();
    this.#dialing.delete(remote);
    this.#undialled.delete(remote);
    const session = this.#sessions.get(remote);
    if (session?.id !== undefined) return;
    const reason =
      error ??
      new CapbusError("E_UNREACHABLE", `${remote} not reached within ${this.#options.dialTimeoutMs} ms`);
    for (const waiter of this.#waiters.get(remote)?.splice(0) ?? []) waiter.reject(reason);
    this.#options.unreachable(remote, reason.code);
    // A handshake still under way would bring up a session for handles just declared destroyed.
    session?.close(reason.code, reason.message);
    this.forget(remote);
  }
}

/** The URLs kept of a list: the first ENDPOINT_BOUNDS.urlsPerPeer within charsPerPeer. */
function clip(urls: readonly string[]): string[] {
  const kept: string[] = [];
  let total = 0;
  for (const url of urls) {
    if (kept.length === ENDPOINT_BOUNDS.urlsPerPeer || total + url.length > ENDPOINT_BOUNDS.charsPerPeer)
      break;
    kept.push(url);
    total += url.length;
  }
  return kept;
}

function chars(urls: readonly string[]): number {
  let total = 0;
  for (const url of urls) total += url.length;
  return total;
}

function wrongPeer(remote: string, info: LinkClosedInfo): CapbusError {
  return new CapbusError(
    CoreErrorCode.E_WRONG_PEER,
    `the peer at ${remote}'s address is someone else, not ${remote} (${info.reason})`,
  );
}
