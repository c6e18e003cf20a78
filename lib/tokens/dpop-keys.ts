import { Inject, Injectable } from '@nestjs/common';
import { exportJWK, importJWK, type JWK } from 'jose';
import * as client from 'openid-client';
import { BoundedCache } from '../cache/bounded-cache.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';

/** A session's DPoP key, as sealed in its payload (RFC 9449 §5): the private JWK and its algorithm. */
export interface SealedDpopKey {
  readonly alg: 'ES256' | 'EdDSA';
  readonly jwk: JWK;
}

/** Handles kept per session, so the OP's `DPoP-Nonce` (RFC 9449 §8) is remembered between requests. */
const HANDLES_KEPT = 10_000;
/** Private JWK members (RFC 7518 §6.2.2, RFC 8037 §2): left out of the public key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

/**
 * The client side of DPoP (RFC 9449 §5, API.md §7.3): one key pair per session, made at login and kept only sealed
 * in the session (never logged, never in the store in clear, never in `OidcUser`), and openid-client's proof and
 * nonce handle built from it for each token request and `OidcTokenService.fetch()`. jose signs every proof.
 */
@Injectable()
export class DpopKeys {
  private readonly handles: BoundedCache<string, client.DPoPHandle>;

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) clock: OidcClock,
  ) {
    this.handles = new BoundedCache(HANDLES_KEPT, () => clock.now(), true);
  }

  /** Whether sessions get DPoP keys (the `dpop` option). */
  get enabled(): boolean {
    return this.options.dpop !== undefined;
  }

  /** A new key pair for a login, its handle, and what the session seals of it. */
  async newKey(config: client.Configuration): Promise<{ handle: client.DPoPHandle; sealed: SealedDpopKey }> {
    const alg = this.options.dpop!.algorithm;
    // Extractable only so that the private key can be sealed with the session; it is exported nowhere else.
    const keyPair = await client.randomDPoPKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(keyPair.privateKey);
    return { handle: client.getDPoPHandle(config, keyPair), sealed: Object.freeze({ alg, jwk }) };
  }

  /** The handle of a session's sealed key (kept per session for its nonces). */
  async handleFor(config: client.Configuration, sessionKey: string, sealed: SealedDpopKey): Promise<client.DPoPHandle> {
    const known = this.handles.get(sessionKey);
    if (known) return known;
    const publicJwk = Object.fromEntries(Object.entries(sealed.jwk).filter(([member]) => !PRIVATE_MEMBERS.includes(member))) as JWK;
    const privateKey = (await importJWK(sealed.jwk, sealed.alg, { extractable: false })) as CryptoKey;
    const publicKey = (await importJWK(publicJwk, sealed.alg, { extractable: true })) as CryptoKey;
    const handle = client.getDPoPHandle(config, { privateKey, publicKey });
    this.handles.set(sessionKey, handle);
    return handle;
  }

  /** Keeps the handle a login used for the session it created (with the nonce the OP gave it). */
  remember(sessionKey: string, handle: client.DPoPHandle): void {
    this.handles.set(sessionKey, handle);
  }

  /** Forgets a session's handle (its session ended). */
  forget(sessionKey: string): void {
    this.handles.delete(sessionKey);
  }
}
