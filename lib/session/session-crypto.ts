import { createHash, createHmac, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CompactEncrypt, compactDecrypt, base64url } from 'jose';

interface DerivedKey {
  kid: string;
  seal: Uint8Array;
  sign: Buffer;
}

const textEncoder = new TextEncoder();
/** Largest plaintext a compressed payload may inflate to (it is authenticated, so this only bounds a bug). */
const MAX_INFLATED_BYTES = 1024 * 1024;
const textDecoder = new TextDecoder();

function derive(secret: string, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'nestjs-oidc', info, length));
}

/**
 * Keys derived from `session.secret` with HKDF (RFC 5869): one for sealing payloads (A256GCM, via jose's
 * compact JWE with `dir`), one for signing cookies (HMAC-SHA256). The first secret seals and signs; all
 * open and verify, so secrets can be rotated without logging everyone out.
 */
export class SessionCrypto {
  private readonly keys: DerivedKey[];

  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((secret) => {
      const seal = derive(secret, 'nestjs-oidc session payload A256GCM', 32);
      return {
        kid: base64url.encode(createHash('sha256').update(seal).digest().subarray(0, 8)),
        seal: new Uint8Array(seal),
        sign: derive(secret, 'nestjs-oidc cookie HMAC-SHA256', 32),
      };
    });
  }

  /** A new random id with 256 bits of entropy. */
  static newId(): string {
    return randomBytes(32).toString('base64url');
  }

  /** The store key for a session id: a dump of the store yields no usable cookie. */
  static storeKey(id: string): string {
    // One-shot: the store key is computed on every request of a session.
    return hash('sha256', id, 'base64url');
  }

  /** `value.signature` with the current key. */
  signCookie(value: string): string {
    return `${value}.${this.mac(this.keys[0]!.sign, value)}`;
  }

  /** The value of a signed cookie, or undefined when no configured key signed it. */
  verifyCookie(signed: string): string | undefined {
    const dot = signed.lastIndexOf('.');
    if (dot <= 0 || signed.length > 512) return undefined;
    const value = signed.slice(0, dot);
    // Compare the encoded strings: base64url decoding would ignore stray characters and padding bits.
    const given = Buffer.from(signed.slice(dot + 1));
    for (const key of this.keys) {
      const expected = Buffer.from(this.mac(key.sign, value));
      if (given.length === expected.length && timingSafeEqual(given, expected)) return value;
    }
    return undefined;
  }

  /**
   * Seals a JSON value (AES-256-GCM). `aad` binds it to its context (e.g. the store key). `compress` deflates the
   * JSON first (marked `cmp` in the protected header): only for values kept server-side — a sealed value whose
   * length an attacker can watch (a cookie) must not mix their input with secrets under compression (CRIME).
   */
  async seal(value: unknown, aad: string, options: { compress?: boolean } = {}): Promise<string> {
    const key = this.keys[0]!;
    const json = textEncoder.encode(JSON.stringify(value));
    return new CompactEncrypt(options.compress ? deflateRawSync(json) : json)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid, ctx: aad, ...(options.compress ? { cmp: 'deflate' } : {}) })
      .encrypt(key.seal);
  }

  /** Opens what {@link seal} produced with any configured key; undefined when tampered, foreign or for another context. */
  async open<T>(sealed: string, aad: string): Promise<T | undefined> {
    try {
      const { plaintext, protectedHeader } = await compactDecrypt(
        sealed,
        (header) => {
          const key = this.keys.find((k) => k.kid === header.kid);
          if (!key) throw new Error('unknown key');
          return key.seal;
        },
        { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
      );
      // The protected header is the GCM additional data, so `ctx` cannot be altered without failing above.
      if (protectedHeader.ctx !== aad) return undefined;
      const json = protectedHeader.cmp === 'deflate' ? inflateRawSync(plaintext, { maxOutputLength: MAX_INFLATED_BYTES }) : plaintext;
      return JSON.parse(textDecoder.decode(json)) as T;
    } catch {
      return undefined;
    }
  }

  private mac(key: Buffer, value: string): string {
    return createHmac('sha256', key).update(value).digest('base64url');
  }
}
