/**
 * A peer's Ed25519 key pair, one per incarnation, and the peer id derived from its public key
 * (spec/transports.md §2). WebCrypto only (`crypto.subtle`), so the core stays free of node: imports.
 */

const ED25519 = { name: "Ed25519" } as const;

/** WebCrypto's key type, named through the global so no DOM or node: types are needed. */
type SubtleKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** An Ed25519 key pair and the peer id derived from its public key; links prove it in the handshake. */
export class Identity {
  /** The peer id: base32 (RFC 4648 alphabet, lower case, no padding) of SHA-256(publicKey). */
  readonly id: string;
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  readonly #privateKey: SubtleKey;

  private constructor(id: string, publicKey: Uint8Array, privateKey: SubtleKey) {
    this.id = id;
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /** A fresh key pair; the private key never leaves WebCrypto (it is not extractable). */
  static async generate(): Promise<Identity> {
    const pair = (await crypto.subtle.generateKey(ED25519, false, ["sign", "verify"])) as {
      publicKey: SubtleKey;
      privateKey: SubtleKey;
    };
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return new Identity(await peerIdFromKey(publicKey), publicKey, pair.privateKey);
  }

  /** Sign `data` with the private key (Ed25519). */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign(ED25519, this.#privateKey, data));
  }
}

/** The id a peer with this public key must use. */
export async function peerIdFromKey(publicKey: Uint8Array): Promise<string> {
  return base32(new Uint8Array(await crypto.subtle.digest("SHA-256", publicKey)));
}

/** True when `sig` is `publicKey`'s Ed25519 signature of `data`; false for any malformed input. */
export async function verifySignature(
  publicKey: Uint8Array,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, key, sig, data);
  } catch {
    // A 32-byte string that is not a curve point is refused by importKey: not a valid key.
    return false;
  }
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
