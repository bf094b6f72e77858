/**
 * What a listener allows a connection before the remote has introduced itself (its hello, and its
 * auth when keyed; spec/transports.md §3.5): a slot among at most `maxPendingLinks`, a deadline and
 * a byte budget. A stranger then costs a bounded number of descriptors and bytes, raw TCP
 * connections that never send a byte included, whatever it sends or withholds.
 */
import { type Runtime, SessionErrorCode, systemRuntime } from "@capbus/core";
import { TransportErrorCode } from "./errors.js";

/** Limits a listener applies to each connection until its remote has introduced itself. */
export interface PreAuthOptions {
  /**
   * Connections accepted and not introduced yet, at once. One more closes the oldest of them
   * with E_LINK_QUOTA (a raw TCP connection that sent nothing is just dropped). @default 64
   */
  maxPendingLinks?: number;
  /**
   * Time from accept until the remote has introduced itself; a connection still silent then (no
   * HTTP upgrade, no hello, no auth) is closed with E_HANDSHAKE_TIMEOUT. @default 5000
   */
  preAuthTimeoutMs?: number;
  /**
   * Bytes a connection may send before it has introduced itself (after the HTTP upgrade, over
   * ws); more closes it with E_TOO_LARGE. A hello and an auth are a few hundred bytes; the rest
   * leaves room for the remote's first batch. @default 131072 (128 KiB)
   */
  preAuthBytes?: number;
}

/** Default of `maxPendingLinks`: strangers a listener holds at once. */
export const DEFAULT_MAX_PENDING_LINKS = 64;
/** Default of `preAuthTimeoutMs`: how long a stranger has to introduce itself. */
export const DEFAULT_PRE_AUTH_TIMEOUT_MS = 5000;
/** Default of `preAuthBytes`: what a stranger may send before its introduction. */
export const DEFAULT_PRE_AUTH_BYTES = 128 * 1024;
/** How long a connection refused before its introduction may take to read its close frame. */
const LINGER_MS = 500;

/** What the guard needs of a socket (a Node `net.Socket` fits): its bytes, its end, a way to drop it. */
export interface GuardedSocket {
  /** Bytes arrived. */
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  /** The socket is gone. */
  on(event: "close", listener: () => void): unknown;
  /** Stop counting bytes. */
  off(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  /** Stop reading: a refused stranger's further bytes are never parsed (ws unmasks and joins them). */
  pause(): unknown;
  /** Drop the connection at once. */
  destroy(): unknown;
}

/** The pre-authentication limits of one listener, shared by the connections it accepts. */
export class PreAuthGuard {
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #bytes: number;
  readonly #runtime: Runtime;
  /** Connections not introduced yet, oldest first (a Set keeps insertion order). */
  readonly #pending = new Set<PreAuthTicket>();

  constructor(options: PreAuthOptions = {}, runtime: Runtime = systemRuntime) {
    this.#max = positive("maxPendingLinks", options.maxPendingLinks ?? DEFAULT_MAX_PENDING_LINKS);
    this.#timeoutMs = positive("preAuthTimeoutMs", options.preAuthTimeoutMs ?? DEFAULT_PRE_AUTH_TIMEOUT_MS);
    this.#bytes = positive("preAuthBytes", options.preAuthBytes ?? DEFAULT_PRE_AUTH_BYTES);
    this.#runtime = runtime;
  }

  /** Connections holding a slot now. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * A connection was accepted: it takes a slot, its deadline starts, and its bytes count from
   * now on. With every slot taken, the oldest connection is closed to make room: a newcomer that
   * introduces itself in time always gets in, however many strangers arrived before it.
   */
  admit(socket: GuardedSocket): PreAuthTicket {
    if (this.#pending.size >= this.#max) {
      const oldest = this.#pending.values().next().value;
      oldest?.refuse(SessionErrorCode.E_LINK_QUOTA, `more than ${this.#max} connections not introduced`);
    }
    const ticket = new PreAuthTicket(socket, this.#bytes, this.#runtime, () => this.#pending.delete(ticket));
    this.#pending.add(ticket);
    ticket.start(this.#timeoutMs);
    return ticket;
  }
}

/** One connection's slot, deadline and byte budget, until its remote has introduced itself. */
export class PreAuthTicket {
  readonly #socket: GuardedSocket;
  readonly #runtime: Runtime;
  readonly #free: () => void;
  #left: number;
  #cancel: (() => void) | undefined;
  #end: ((code: string, reason: string) => void) | undefined;
  #done = false;
  readonly #onData = (chunk: Uint8Array): void => this.count(chunk.byteLength);

  /** @internal */
  constructor(socket: GuardedSocket, bytes: number, runtime: Runtime, free: () => void) {
    this.#socket = socket;
    this.#left = bytes;
    this.#runtime = runtime;
    this.#free = free;
    socket.on("close", () => this.release());
  }

  /** @internal */
  start(timeoutMs: number): void {
    this.#cancel = this.#runtime.setTimer(timeoutMs, () =>
      this.refuse(SessionErrorCode.E_HANDSHAKE_TIMEOUT, `not introduced within ${timeoutMs} ms`),
    );
  }

  /** Count the bytes `socket` receives from now on (over ws: once it is upgraded). */
  watch(): void {
    if (!this.#done) this.#socket.on("data", this.#onData);
  }

  /** `bytes` more arrived: beyond the budget the connection is refused. */
  count(bytes: number): void {
    if (this.#done) return;
    this.#left -= bytes;
    if (this.#left < 0) this.refuse(TransportErrorCode.E_TOO_LARGE, "too many bytes before the handshake");
  }

  /**
   * The link over this connection: refusals close it with their code (the remote is told where
   * the transport can say it) instead of just dropping the socket.
   */
  bind(end: (code: string, reason: string) => void): void {
    this.#end = end;
  }

  /** The remote has introduced itself, or the connection is gone: the limits no longer apply. */
  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cancel?.();
    this.#socket.off("data", this.#onData);
    this.#free();
  }

  /**
   * The link closed before its remote introduced itself: drop the socket soon, whether or not
   * the remote answers the close (ws waits 30 s for that), so a refused stranger holds no
   * descriptor. Its slot stays taken until the socket is gone.
   */
  closedEarly(): void {
    if (this.#done) return;
    this.#socket.pause();
    this.#runtime.setTimer(LINGER_MS, () => this.#socket.destroy());
  }

  /** Close the connection with `code`: through its link if it has one, else by dropping it. */
  refuse(code: string, reason: string): void {
    if (this.#done) return;
    const end = this.#end;
    this.release();
    if (!end) {
      this.#socket.destroy();
      return;
    }
    end(code, reason);
    // The close frame goes out; nothing more comes in (a 16 MiB message would still be read,
    // unmasked and joined by ws: ~100 ms of the victim's CPU for bytes it refused).
    this.#socket.pause();
    this.#runtime.setTimer(LINGER_MS, () => this.#socket.destroy());
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
