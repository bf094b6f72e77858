/**
 * Capability URLs (spec/bootstrap.md): the only way into a peer from outside. An export maps a
 * secret of 128 random bits to a node; whoever presents the secret over a link to the owner gets
 * a handle. The URL names the owner's peer id, so a dialler knows whom the handshake must prove.
 */
import { CapbusError, type CoreErrorCode } from "./errors.js";

export const SECRET_BYTES = 16;
/** URL scheme → endpoint prefix. `capbus+sim` names a simulated peer (`@capbus/sim`). */
const SCHEMES: Readonly<Record<string, string>> = {
  capbus: "ws://",
  "capbus+wss": "wss://",
  "capbus+unix": "unix:",
  "capbus+sim": "sim:",
};
/** Exports are found by this many leading characters of the secret; the rest is compared in constant time. */
const LOOKUP_CHARS = 8;

/**
 * A parsed capability URL (spec/bootstrap.md): where the owner listens, who it is, and the secret that names
 * one export.
 */
export interface CapabilityUrl {
  /** Where the owner listens: `ws://host:port`, `wss://host:port` or `unix:/path`. */
  readonly endpoint: string;
  /** The owner's peer id: the dialler checks the key it proves against it. */
  readonly peer: string;
  /** The export's secret (16 or more random bytes): whoever presents it gets a handle. */
  readonly secret: Uint8Array;
}

/**
 * `capbus://host:port/<peer>/<secret>`, `capbus+wss://...`, `capbus+unix:///path/<peer>/<secret>`,
 * and `capbus+sim://<id>/<peer>/<secret>` for simulated peers.
 */
export function formatCapabilityUrl(endpoint: string, peer: string, secret: Uint8Array): string {
  const tail = `/${encodeURIComponent(peer)}/${base64url(secret)}`;
  if (endpoint.startsWith("ws://")) return `capbus://${endpoint.slice(5)}${tail}`;
  if (endpoint.startsWith("wss://")) return `capbus+wss://${endpoint.slice(6)}${tail}`;
  if (endpoint.startsWith("unix:")) return `capbus+unix://${endpoint.slice(5)}${tail}`;
  if (endpoint.startsWith("sim:")) return `capbus+sim://${endpoint.slice(4)}${tail}`;
  throw new CapbusError("E_NO_EXPORT", `no capability URL scheme for endpoint ${endpoint}`);
}

/**
 * Parse `capbus://host:port/<peer>/<secret>` (or `capbus+wss://`, `capbus+unix://`); throws CapbusError
 * E_NO_EXPORT when it is not one or its secret is shorter than 16 bytes.
 */
export function parseCapabilityUrl(url: string): CapabilityUrl {
  const match = /^(capbus|capbus\+wss|capbus\+unix|capbus\+sim):\/\/(.*)\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(
    url,
  );
  const [, scheme, place, peer, secret] = match ?? [];
  if (!scheme || place === undefined || !peer || !secret) {
    throw new CapbusError("E_NO_EXPORT", `not a capability URL: ${url}`);
  }
  const endpoint = `${SCHEMES[scheme] ?? "unix:"}${place}`;
  const bytes = fromBase64url(secret);
  if (bytes.byteLength < SECRET_BYTES) throw new CapbusError("E_NO_EXPORT", "the secret is too short");
  return { endpoint, peer: decodeURIComponent(peer), secret: bytes };
}

/** The owner's table of exported nodes. */
export class Exports {
  readonly #bySecret = new Map<string, Array<{ readonly secret: Uint8Array; readonly node: number }>>();

  add(secret: Uint8Array, node: number): void {
    const key = base64url(secret).slice(0, LOOKUP_CHARS);
    const list = this.#bySecret.get(key) ?? [];
    list.push({ secret, node });
    this.#bySecret.set(key, list);
  }

  /** The node exported under `secret`, if any. */
  find(secret: Uint8Array): number | undefined {
    const list = this.#bySecret.get(base64url(secret).slice(0, LOOKUP_CHARS));
    return list?.find((e) => constantTimeEqual(e.secret, secret))?.node;
  }

  /** Revoke one export (by secret) or every export of a node. Handles already given stay. */
  revoke(what: { readonly secret: Uint8Array } | { readonly node: number }): number {
    let removed = 0;
    for (const [key, list] of this.#bySecret) {
      const kept = list.filter((e) =>
        "node" in what ? e.node !== what.node : !constantTimeEqual(e.secret, what.secret),
      );
      removed += list.length - kept.length;
      if (kept.length === 0) this.#bySecret.delete(key);
      else this.#bySecret.set(key, kept);
    }
    return removed;
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function base64url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

function fromBase64url(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new CapbusError("E_NO_EXPORT", "the secret is not base64url");
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 255;
    }
  }
  return out;
}

/** What the capability side needs from its peer. */
export interface CapabilitiesContext {
  readonly id: string;
  randomBytes(bytes: Uint8Array): void;
  /** This peer's alive node with that number, if any. */
  alive(node: number): { readonly acquire: (peers: Iterable<string>) => void } | undefined;
  exists(node: number): boolean;
}

/** Exports, and the claims this peer has sent and not had answered (spec/bootstrap.md §2). */
export class Capabilities {
  readonly #ctx: CapabilitiesContext;
  readonly #exports = new Exports();
  readonly #claims = new Map<
    number,
    { readonly remote: string; resolve: (node: number) => void; reject: (e: CapbusError) => void }
  >();

  constructor(ctx: CapabilitiesContext) {
    this.#ctx = ctx;
  }

  /** U1: a fresh secret for `node`, as a URL naming `endpoint`. */
  export(node: number, endpoint: string): string {
    const secret = new Uint8Array(SECRET_BYTES);
    this.#ctx.randomBytes(secret);
    this.#exports.add(secret, node);
    return formatCapabilityUrl(endpoint, this.#ctx.id, secret);
  }

  /** U4. */
  revoke(what: { readonly url: string } | { readonly node: number }): number {
    return this.#exports.revoke("url" in what ? { secret: parseCapabilityUrl(what.url).secret } : what);
  }

  /** The node one of this peer's own URLs names (an import of one's own export). */
  own(secret: Uint8Array): number {
    const node = this.#exports.find(secret);
    if (node === undefined) throw new CapbusError("E_NO_EXPORT", "no such export");
    return node;
  }

  /** U2: send `claim` as `event`, and wait for the owner's answer. */
  claim(
    remote: string,
    event: number,
    secret: Uint8Array,
    send: (frame: ClaimBody) => void,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#claims.set(event, { remote, resolve, reject });
      send({ type: "claim", event, secret });
    });
  }

  /** U3, at the owner: the answer to `from`'s claim. */
  answer(from: string, event: number, secret: Uint8Array): GrantedBody | RejectBody {
    const id = this.#exports.find(secret);
    const node = id === undefined ? undefined : this.#ctx.alive(id);
    if (id === undefined || !this.#ctx.exists(id)) return { type: "reject", event, code: "E_NO_EXPORT" };
    if (!node) return { type: "reject", event, code: "E_DESTROYED" };
    node.acquire([from]);
    return { type: "granted", event, node: id };
  }

  /** A `granted` from `from`: only the owner the claim went to may answer it. */
  granted(from: string, event: number, node: number): void {
    const claim = this.#claims.get(event);
    if (claim?.remote !== from) throw new CapbusError("E_PROTOCOL", `${from} granted a claim not made to it`);
    this.#claims.delete(event);
    claim.resolve(node);
  }

  /** A `reject` from `from`: true when it answered one of this peer's claims. */
  refused(from: string, event: number, code: CoreErrorCode): boolean {
    const claim = this.#claims.get(event);
    if (claim?.remote !== from) return false;
    this.#claims.delete(event);
    const why =
      code === "E_NO_EXPORT"
        ? "the owner has no export with this secret (a wrong secret, or the URL was revoked)"
        : `the owner refused the claim (${code})`;
    claim.reject(new CapbusError(code, `${from}: ${why}`));
    return true;
  }

  /** The link to `remote` is gone: its unanswered claims fail. */
  lost(remote: string): void {
    for (const [event, claim] of this.#claims) {
      if (claim.remote !== remote) continue;
      this.#claims.delete(event);
      claim.reject(
        new CapbusError("E_LINK_CLOSED", `link to ${remote} closed before the claim was answered`),
      );
    }
  }
}

type ClaimBody = { readonly type: "claim"; readonly event: number; readonly secret: Uint8Array };
type GrantedBody = { readonly type: "granted"; readonly event: number; readonly node: number };
type RejectBody = { readonly type: "reject"; readonly event: number; readonly code: CoreErrorCode };
