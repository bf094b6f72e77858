/**
 * The peer's sessions by remote peer id, and how it comes to have one (spec/bootstrap.md):
 * endpoints the peer listens on and has learnt for others, dialling a peer it must reach (the
 * owner of a handle it received), and waiting for that link, within a dial timeout.
 */
import { CapbusError, CoreErrorCode } from "./errors.js";
import type { LinkClosedInfo } from "./link.js";
import type { Runtime } from "./runtime.js";
import type { LinkSession } from "./session.js";

/** Open a link to `remote` at one of `endpoints` and hand it to `peer.connect(link, remote)`. */
export type Dial = (remote: string, endpoints: readonly string[]) => void;

export interface LinksOptions {
  readonly local: string;
  readonly runtime: Runtime;
  readonly dial: Dial | undefined;
  readonly dialTimeoutMs: number;
  /** Sessions kept at most; one more is closed with E_QUOTA. */
  readonly maxLinks: number;
  /** A session with `remote` is up (new or replacing one). */
  readonly up: (remote: string) => void;
  /** `remote` could not be reached: `code` E_UNREACHABLE (the dial timeout) or E_WRONG_PEER. */
  readonly unreachable: (remote: string, code: CoreErrorCode) => void;
}

interface Waiter {
  readonly resolve: (session: LinkSession) => void;
  readonly reject: (error: CapbusError) => void;
}

export class Links {
  readonly #sessions = new Map<string, LinkSession>();
  readonly #own: string[] = [];
  readonly #known = new Map<string, readonly string[]>();
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
    if (!existing && this.#sessions.size >= this.#options.maxLinks) {
      session.close("E_QUOTA", `no room for more than ${this.#options.maxLinks} links`);
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
    if (session.id !== undefined) this.#gone.add(remote);
    else if (info?.code === CoreErrorCode.E_WRONG_PEER) this.#giveUp(remote, wrongPeer(remote, info));
    return true;
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
    if (peer === this.#options.local || urls.length === 0) return;
    this.#known.set(peer, [...urls]);
    const owed = this.#owed.get(peer);
    this.#owed.delete(peer);
    for (const session of owed ?? []) if (!session.closed) this.hint(session, peer);
    if (this.#undialled.delete(peer) && this.#dialing.has(peer) && !this.#sessions.has(peer))
      this.#options.dial?.(peer, [...urls]);
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

  /** Start reaching `remote` if there is no session and no dial yet (a handle of its arrived). */
  reach(remote: string): void {
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
  }
}

function wrongPeer(remote: string, info: LinkClosedInfo): CapbusError {
  return new CapbusError(
    CoreErrorCode.E_WRONG_PEER,
    `the peer at ${remote}'s address is someone else, not ${remote} (${info.reason})`,
  );
}
