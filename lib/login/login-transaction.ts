import { createHash } from 'node:crypto';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { serializeCookie } from '../http/cookies.js';
import { appendSetCookie, requestCookies, type PlatformRequest, type PlatformResponse } from '../http/platform.js';
import type { SessionCrypto } from '../session/session-crypto.js';

/** One login in progress: what the callback needs to finish it (RFC 9700 §2.1.1, "transaction-specific"). */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** epoch seconds */
  createdAt: number;
  /** `max_age` asked of the OP (OIDC Core §3.1.2.1); openid-client then requires and checks `auth_time`. */
  maxAge?: number;
  /** `acr_values` asked of the OP for a step-up (RFC 9470 §4): the ID token's `acr` must be one of them. */
  acrValues?: string[];
  /** A silent login (`prompt=none`): the OP's "needs interaction" answers end anonymously on `returnTo`. */
  silent?: boolean;
}

/** SE-11: at most this many logins in progress per browser; the oldest is dropped beyond it. */
const MAX_TRANSACTIONS = 5;

/**
 * Login transactions live in the browser, one sealed (AES-GCM) HttpOnly cookie per transaction, named
 * after a hash of its `state`: two tabs logging in at once both finish (LF-09), and any instance can
 * finish a login another instance started. Each cookie is scoped to the routes' path and expires with
 * the transaction.
 */
export class LoginTransactions {
  private readonly prefix: string;
  private readonly path: string;

  constructor(
    private readonly options: ResolvedOidcOptions,
    private readonly crypto: SessionCrypto,
  ) {
    this.prefix = `${options.session.cookieName}.tx.`;
    this.path = options.routesPath;
  }

  private cookieName(state: string): string {
    return this.prefix + createHash('sha256').update(state).digest('base64url').slice(0, 16);
  }

  /** Binds a sealed transaction to its cookie's name (itself derived from the state). */
  private aad(cookieName: string): string {
    return `login-transaction:${cookieName}`;
  }

  /** Stores a new transaction, evicting the oldest beyond {@link MAX_TRANSACTIONS}. */
  async save(req: PlatformRequest, res: PlatformResponse, tx: LoginTransaction): Promise<void> {
    const existing = [...requestCookies(req)].filter(([name]) => name.startsWith(this.prefix));
    if (existing.length >= MAX_TRANSACTIONS) {
      const aged = await Promise.all(
        existing.map(async ([name, value]) => {
          const open = await this.crypto.open<LoginTransaction>(value, this.aad(name));
          return { name, createdAt: open?.createdAt ?? 0 };
        }),
      );
      aged.sort((a, b) => a.createdAt - b.createdAt);
      for (const { name } of aged.slice(0, existing.length - MAX_TRANSACTIONS + 1)) this.clear(res, name);
    }
    const name = this.cookieName(tx.state);
    const sealed = await this.crypto.seal(tx, this.aad(name));
    appendSetCookie(res, serializeCookie(name, sealed, this.attributes(this.options.transactionTtl)));
  }

  /** The transaction for `state`, if this browser started it and it has not been tampered with. Always clears it. */
  async take(req: PlatformRequest, res: PlatformResponse, state: string): Promise<LoginTransaction | undefined> {
    const name = this.cookieName(state);
    const value = requestCookies(req).get(name);
    if (value === undefined) return undefined;
    this.clear(res, name);
    const tx = await this.crypto.open<LoginTransaction>(value, this.aad(name));
    // RFC 9700 §4.7.1: state is compared as sealed, so it can neither be swapped nor altered.
    return tx && tx.state === state ? tx : undefined;
  }

  private clear(res: PlatformResponse, name: string): void {
    appendSetCookie(res, serializeCookie(name, '', this.attributes(0)));
  }

  private attributes(maxAge: number) {
    const { cookie } = this.options.session;
    // A form_post callback is a cross-site POST: only a SameSite=None cookie comes along with it.
    const formPost = this.options.authorizationParams.response_mode === 'form_post';
    return {
      httpOnly: true,
      secure: cookie.secure || formPost,
      sameSite: formPost ? ('none' as const) : ('lax' as const),
      path: this.path,
      maxAge,
    };
  }
}
