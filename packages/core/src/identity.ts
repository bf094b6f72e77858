/**
 * A peer's Ed25519 key pair, one per incarnation, and the peer id derived from its public key
 * (spec/transports.md §2). WebCrypto only (`crypto.subtle`), so the core stays free of node: imports.
 */

const ED25519 = { name: "Ed25519" } as const;

/** WebCrypto's key type, named through the global so no DOM or node: types are needed. */
export type SubtleKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/**
 * A host's synchronous Ed25519 signer for a WebCrypto private key: given the key once, it returns
 * the function that signs. WebCrypto only signs asynchronously (a thread-pool round trip and one
 * more event-loop turn); a multicast's commits wait for their signature (spec/ordering.md §16), so
 * a host that can sign at once (Node: `node:crypto`) passes one to {@link Identity.generate}.
 */
export type SyncSigner = (privateKey: SubtleKey) => (data: Uint8Array) => Uint8Array;

/** An Ed25519 key pair and the peer id derived from its public key; links prove it in the handshake. */
export class Identity {
  /** The peer id: base32 (RFC 4648 alphabet, lower case, no padding) of SHA-256(publicKey). */
  readonly id: string;
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  readonly #privateKey: SubtleKey;
  readonly #signSync: ((data: Uint8Array) => Uint8Array) | undefined;

  private constructor(
    id: string,
    publicKey: Uint8Array,
    privateKey: SubtleKey,
    signSync: ((data: Uint8Array) => Uint8Array) | undefined,
  ) {
    this.id = id;
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    this.#signSync = signSync;
  }

  /**
   * A fresh key pair; the private key never leaves WebCrypto (it is not extractable). With
   * `signSync`, {@link signNow} signs at once through the host's signer.
   */
  static async generate(options: { readonly signSync?: SyncSigner } = {}): Promise<Identity> {
    const pair = (await crypto.subtle.generateKey(ED25519, false, ["sign", "verify"])) as {
      publicKey: SubtleKey;
      privateKey: SubtleKey;
    };
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const signSync = options.signSync?.(pair.privateKey);
    return new Identity(await peerIdFromKey(publicKey), publicKey, pair.privateKey, signSync);
  }

  /** Sign `data` now, when the identity was given a synchronous signer; undefined otherwise. */
  signNow(data: Uint8Array): Uint8Array | undefined {
    return this.#signSync?.(data);
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
