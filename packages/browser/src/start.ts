/**
 * A ready-to-use peer for a web page (spec/browser.md): an Ed25519 key pair from WebCrypto, and a
 * dialler over the native WebSocket that reaches other peers at the `ws://` / `wss://` endpoints it
 * learns, so `peer.import("capbus://host:port/...")` dials `ws://host:port`. A page cannot listen:
 * it advertises no endpoint and is reached only over links it opened.
 */
import { CapbusError, Identity, Peer, type PeerOptions } from "@capbus/core";
import { Dialer, type DialOptions, logDialFailure } from "@capbus/transport";
import { type BrowserWsLinkOptions, openBrowserWs } from "./ws-link.js";

/** Options for a link the browser peer dials: the WebSocket link's and the dialler's (resume, redial). */
export type BrowserDialOptions = BrowserWsLinkOptions & DialOptions;

/** Dial the peer `remote` at `url` and keep the session connected (resume); `await dialer.ready`. */
export function connect(peer: Peer, url: string, remote: string, options: BrowserDialOptions = {}): Dialer {
  return new Dialer(peer, remote, () => openBrowserWs(url, options), options);
}

/**
 * Options of `startBrowserPeer`: the peer's own options, minus what the browser peer sets itself (its
 * dialler and identity).
 */
export interface BrowserStartOptions extends Omit<PeerOptions, "dial" | "identity" | "id"> {
  /** Options for every link this peer dials. @default {} */
  link?: BrowserDialOptions;
  /**
   * Abort the peer when the page goes away (`pagehide`): its links close with E_ABORTED at once,
   * so linked peers apply the crash rules now instead of holding its sessions for their grace
   * period (30 s at a Node listener), during which their rounds involving it would wait.
   * @default true
   */
  abortOnPageHide?: boolean;
}

/** A started browser peer: the peer, a way to link to a known peer by URL, and a graceful close. */
export interface StartedBrowserPeer {
  /** The peer: create nodes, import capability URLs, send and receive. */
  readonly peer: Peer;
  /** Link to the peer `remote` at `url` (`ws://host:port`), as the dialler does for handles. */
  connect(url: string, remote: string): Promise<void>;
  /** Close the peer gracefully (its nodes destroyed, its handles released), then its links. */
  close(): Promise<void>;
}

/** True when this browser's WebCrypto does Ed25519 (Chromium 137+, Firefox 129+, Safari 17+). */
export async function supportsEd25519(): Promise<boolean> {
  try {
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start a peer in a web page: an Ed25519 identity from WebCrypto, a dialler over the browser's WebSocket
 * and, with `trace`, an in-memory trace. Throws E_PROTOCOL when WebCrypto has no Ed25519.
 */
export async function startBrowserPeer(options: BrowserStartOptions = {}): Promise<StartedBrowserPeer> {
  if (!(await supportsEd25519())) {
    throw new CapbusError(
      "E_PROTOCOL",
      "this browser's WebCrypto has no Ed25519: capbus peers must prove a key (spec/browser.md)",
    );
  }
  const identity = await Identity.generate();
  const dialers: Dialer[] = [];
  const { link, abortOnPageHide = true, ...peerOptions } = options;
  const dial = (remote: string, url: string): Dialer => {
    const dialer = connect(peer, url, remote, link);
    dialers.push(dialer);
    return dialer;
  };
  const peer: Peer = new Peer({
    ...peerOptions,
    identity,
    dial: (remote, urls) => {
      const url = urls.find((u) => u.startsWith("ws://") || u.startsWith("wss://"));
      // Nothing to dial (a Unix socket, say): the peer's dial timeout reports it unreachable.
      if (url === undefined) return;
      const dialer = dial(remote, url);
      // The dial timeout reports an unreachable peer; the logger says why the dial failed.
      dialer.ready.catch((error: unknown) => {
        logDialFailure(peer, remote, [url], error);
        dialer.stop();
      });
    },
  });
  const events = globalThis as unknown as Partial<Pick<EventTarget, "addEventListener">>;
  if (abortOnPageHide) events.addEventListener?.("pagehide", () => peer.abort());
  return {
    peer,
    connect: (url, remote) => dial(remote, url).ready,
    close: async () => {
      await peer.close();
      for (const dialer of dialers) dialer.stop();
    },
  };
}
