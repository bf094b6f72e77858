/**
 * Capability URLs (spec/bootstrap.md): the only way into a peer from outside. An export maps a
 * secret of 128 random bits to a node; whoever presents the secret over a link to the owner gets
 * a handle. The URL names the owner's peer id, so a dialler knows whom the handshake must prove.
 */
import { CapbusError } from "./errors.js";

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

export interface CapabilityUrl {
  /** Where the owner listens: `ws://host:port`, `wss://host:port` or `unix:/path`. */
  readonly endpoint: string;
  readonly peer: string;
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
