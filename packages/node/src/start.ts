/**
 * A ready-to-use Node peer: a key pair, listeners on ws and Unix-socket endpoints, and a dialler
 * that reaches other peers by the endpoints it learns (spec/bootstrap.md), so handles received
 * from anyone lead straight to their owners.
 */
import {
  checkLiveness,
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_HEARTBEAT_MS,
  Identity,
  type PeerOptions,
  type SessionOptions,
} from "@capbus/core";
import {
  DEFAULT_GRACE_MS,
  type Dialer,
  type LivenessOptions,
  logDialFailure,
  type PreAuthOptions,
} from "@capbus/transport";
import { dialUnix, listenUnix } from "@capbus/transport-unix";
import { dialWs, listenWs } from "@capbus/transport-ws";
import { Peer } from "./peer.js";
import { nodeSignSync } from "./sign.js";

/** Options of `startPeer`: the Peer's own (minus what it sets itself) plus where to listen. */
export interface StartOptions extends Omit<PeerOptions, "dial" | "identity" | "id"> {
  /**
   * Endpoints to listen on: `ws://host:port` (port 0 picks one) or `unix:/path/to.sock`.
   * @default ["ws://127.0.0.1:0"]
   */
  listen?: readonly string[];
  /**
   * Options of the sessions this peer accepts or dials (e.g. `graceMs`: how long a broken link
   * may take to resume before the remote counts as crashed). @default the transports' (30 s grace)
   */
  linkSession?: SessionOptions;
  /** Heartbeats and the dead-link timeout of every link. @default the transports' (5 s, 15 s) */
  liveness?: LivenessOptions;
  /**
   * What each listener allows a connection before its remote has introduced itself
   * (spec/transports.md §3.5). @default the transports' (64 at once, 5 s, 128 KiB)
   */
  preAuth?: PreAuthOptions;
  /**
   * How long an entry from a sender may stay staged here (spec/guarantees.md §4.5). It must
   * outlast what a live sender may wait for before it commits (rule T2 of spec/limits.md §3.1):
   * a smaller one is refused with E_OPTIONS. A sender whose entries stall this queue for as long
   * in all is cut off too (`stallMs`, rule T7).
   * @default 1.25 × (max(dialTimeoutMs, answerTimeoutMs) + 0.8 × answerTimeoutMs) (135 s with the
   * other defaults)
   */
  stageTimeoutMs?: number;
}

/** A peer with its listeners and dialler. */
export interface StartedPeer {
  /** The peer (it honours CAPBUS_TRACE). */
  readonly peer: Peer;
  /** The endpoints actually listened on (port 0 resolved). */
  readonly endpoints: readonly string[];
  /** Close the peer gracefully, then its listeners and dialled links. */
  close(): Promise<void>;
}

/**
 * Start a Node peer: a fresh Ed25519 key pair, listeners on `listen` (ws and Unix sockets), and a dialler
 * for the endpoints it learns (capability URLs, handles received). Where to start with capbus.
 *
 * @example
 * ```ts
 * import { startPeer } from "capbus/node";
 *
 * // ws://127.0.0.1:<some port>; or { listen: ["unix:/run/my-app.sock", "ws://0.0.0.0:7000"] }
 * const { peer, endpoints, close } = await startPeer();
 * const inbox = peer.createNode();
 * console.log(endpoints, peer.export(inbox)); // the capability URL: whoever holds it can send to inbox
 * process.once("SIGINT", () => void close()); // graceful: holders of its handles are told, in the order
 * for await (const event of peer) {
 *   if (event.kind === "message") console.log(event.payload, event.ts);
 * }
 * ```
 */
export async function startPeer(options: StartOptions = {}): Promise<StartedPeer> {
  const identity = await Identity.generate({ signSync: nodeSignSync });
  const dialers: Dialer[] = [];
  const liveness = options.liveness ?? {};
  // The links' dead time and grace, which the peer derives its stage timeout from and checks.
  const linkTimeouts = {
    deadAfterMs: liveness.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS,
    graceMs: options.linkSession?.graceMs ?? DEFAULT_GRACE_MS,
  };
  checkLiveness(liveness.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, linkTimeouts.deadAfterMs);
  const peer: Peer = new Peer({
    ...options,
    linkTimeouts,
    identity,
    dial: (remote, urls) => {
      const dialer = dialAny(peer, remote, urls, options.linkSession, liveness);
      if (dialer) {
        dialers.push(dialer);
        // A failed first dial is reported by the peer's dial timeout as unreachable.
        dialer.ready.catch((error: unknown) => {
          logDialFailure(peer, remote, urls, error);
          dialer.stop();
        });
      }
    },
  });
  const closers: Array<() => Promise<void>> = [];
  for (const endpoint of options.listen ?? ["ws://127.0.0.1:0"]) {
    if (endpoint.startsWith("ws://")) {
      const url = new URL(endpoint);
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const listener = await listenWs(peer, {
        ...liveness,
        ...options.preAuth,
        host,
        port: Number(url.port || 0),
        ...(options.linkSession ? { session: options.linkSession } : {}),
      });
      closers.push(() => listener.close());
      peer.advertise(listener.url);
    } else if (endpoint.startsWith("unix:")) {
      const listener = await listenUnix(peer, endpoint.slice(5), {
        ...liveness,
        ...options.preAuth,
        ...(options.linkSession ? { session: options.linkSession } : {}),
      });
      closers.push(() => listener.close());
      peer.advertise(endpoint);
    } else {
      throw new TypeError(`cannot listen on ${endpoint}: use ws://host:port or unix:/path`);
    }
  }
  return {
    peer,
    endpoints: peer.endpoints,
    close: async () => {
      await peer.close();
      for (const dialer of dialers) dialer.stop();
      await Promise.all(closers.map((close) => close()));
    },
  };
}

/** Dial the first endpoint this process has a transport for. */
function dialAny(
  peer: Peer,
  remote: string,
  urls: readonly string[],
  session: SessionOptions | undefined,
  liveness: LivenessOptions,
): Dialer | undefined {
  const options = session ? { ...liveness, session } : liveness;
  for (const url of urls) {
    if (url.startsWith("ws://") || url.startsWith("wss://")) return dialWs(peer, url, remote, options);
    if (url.startsWith("unix:")) return dialUnix(peer, url.slice(5), remote, options);
  }
  return undefined;
}
