import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import type { OidcClock } from '../oidc.constants.js';
import { MemorySessionStore } from './memory-session.store.js';
import { OidcSessionService } from './oidc-session.service.js';
import type { OidcSessionData, OidcSessionStore } from './session-store.interface.js';

const ISS = 'https://op.example.com';

/** A store whose next `get` of a key is followed, before the caller resumes, by another instance's write. */
class RacyStore implements OidcSessionStore {
  readonly inner = new MemorySessionStore();
  /** Runs once, right after the next `get` has read its result. */
  afterNextGet?: () => Promise<void>;
  withReplace = true;

  async get(id: string): Promise<OidcSessionData | undefined> {
    const data = await this.inner.get(id);
    const hook = this.afterNextGet;
    this.afterNextGet = undefined;
    await hook?.();
    return data;
  }
  set(id: string, data: OidcSessionData, ttl: number) {
    return this.inner.set(id, data, ttl);
  }
  destroy(id: string) {
    return this.inner.destroy(id);
  }
  destroyBy(filter: { iss: string; sid?: string; sub?: string }) {
    return this.inner.destroyBy(filter);
  }
  get replace(): OidcSessionStore['replace'] {
    return this.withReplace ? this.inner.replace.bind(this.inner) : undefined;
  }
}

function setup(withReplace: boolean) {
  const store = new RacyStore();
  store.withReplace = withReplace;
  const clock: OidcClock & { offset: number } = { offset: 0, now: () => Date.now() + clock.offset };
  const options = resolveOidcOptions({
    issuer: ISS,
    clientId: 'app',
    baseUrl: 'https://app.example.com',
    session: { secret: 'a-unit-test-session-secret-of-32-chars!!', store },
  });
  const service = new OidcSessionService(options, clock, store);
  return { store, clock, service };
}

/** A request carrying `cookie`, and a response recording Set-Cookie. */
function exchange(cookie?: string) {
  const headers: Record<string, unknown> = {};
  const req = { headers: cookie ? { cookie } : {}, rawHeaders: [] } as never;
  const res = { getHeader: (n: string) => headers[n], setHeader: (n: string, v: unknown) => void (headers[n] = v) } as never;
  return { req, res, setCookie: () => [headers['set-cookie'] ?? []].flat().map(String) };
}

async function login(service: OidcSessionService, sid: string) {
  const { req, res, setCookie } = exchange();
  const session = await service.create(req, res, {
    iss: ISS,
    sub: 'alice',
    sid,
    idTokenClaims: { iss: ISS, sub: 'alice', aud: 'app', exp: 0, iat: 0 },
    accessToken: 'at-1',
  } as never);
  return { session, cookie: setCookie()[0]!.split(';')[0]! };
}

describe.each([
  ['a store with replace (compare-and-set)', true],
  ['a store without replace (re-read, then set)', false],
])('OidcSessionService over %s', (_name, withReplace) => {
  it("a back-channel logout landing between a request's read and its rolling write is not undone", async () => {
    const { store, clock, service } = setup(withReplace);
    const { session, cookie } = await login(service, 'sid-a');
    clock.offset += 3_600_000; // due for a rolling extension
    store.afterNextGet = async () => {
      await expect(service.endSessions({ iss: ISS, sid: 'sid-a' })).resolves.toBe(1);
    };
    const { req, res, setCookie } = exchange(cookie);
    await expect(service.get(req, res)).resolves.toBeUndefined();
    await expect(store.inner.get(session.key)).resolves.toBeUndefined();
    // The browser is told to drop the cookie of the ended session (SE-05).
    expect(setCookie().some((c) => /^oidc\.session=;/.test(c) && /Max-Age=0/i.test(c))).toBe(true);
  });

  it('a rolling write never puts back an older payload over tokens refreshed meanwhile', async () => {
    const { store, clock, service } = setup(withReplace);
    const { session, cookie } = await login(service, 'sid-a');
    clock.offset += 3_600_000;
    store.afterNextGet = async () => {
      const fresh = (await service.read(session.key))!;
      await expect(service.update(fresh, { ...fresh.payload, accessToken: 'at-2' })).resolves.toBeDefined();
    };
    const { req, res } = exchange(cookie);
    const loaded = await service.get(req, res);
    expect(loaded?.payload.accessToken).toBe('at-2');
    const stored = await service.read(session.key);
    expect(stored?.payload.accessToken).toBe('at-2');
  });

  it('update after the session was ended writes nothing and resolves to undefined', async () => {
    const { store, service } = setup(withReplace);
    const { session } = await login(service, 'sid-a');
    await service.endSessions({ iss: ISS, sub: 'alice' });
    await expect(service.update(session, { ...session.payload, accessToken: 'at-2' })).resolves.toBeUndefined();
    await expect(store.inner.get(session.key)).resolves.toBeUndefined();
  });
});

describe('OidcSessionService — verified-cookie cache', () => {
  it('a cookie that verified before does not make a tampered copy verify', async () => {
    const { service } = setup(true);
    const { cookie } = await login(service, 'sid-a');
    const ok = exchange(cookie);
    await expect(service.get(ok.req, ok.res)).resolves.toBeDefined();
    const [name, value] = cookie.split('=') as [string, string];
    const dot = value.lastIndexOf('.');
    for (const forged of [
      `${value.slice(0, dot)}.${value.slice(dot + 1, -1)}${value.endsWith('A') ? 'B' : 'A'}`, // another MAC
      `${value.slice(0, dot - 1)}${value[dot - 1] === 'A' ? 'B' : 'A'}${value.slice(dot)}`, // another id, same MAC
      `${value}x`,
    ]) {
      const bad = exchange(`${name}=${forged}`);
      await expect(service.get(bad.req, bad.res)).resolves.toBeUndefined();
    }
  });

  it('the remembered cookie of a session that ended is anonymous', async () => {
    const { service } = setup(true);
    const { cookie } = await login(service, 'sid-a');
    const first = exchange(cookie);
    await expect(service.get(first.req, first.res)).resolves.toBeDefined();
    await service.endSessions({ iss: ISS, sid: 'sid-a' });
    const again = exchange(cookie);
    await expect(service.get(again.req, again.res)).resolves.toBeUndefined();
  });
});

describe('sessionUser', () => {
  it('requests of one session share read-only claims: a controller cannot change what the next request sees', async () => {
    const { service } = setup(true);
    const { cookie } = await login(service, 'sid-a');
    const { sessionUser } = await import('../auth/oidc-authenticator.js');
    const options = resolveOidcOptions({
      issuer: ISS,
      clientId: 'app',
      baseUrl: 'https://app.example.com',
      session: { secret: 'a-unit-test-session-secret-of-32-chars!!' },
    });
    const read = async () => {
      const { req, res } = exchange(cookie);
      return sessionUser((await service.get(req, res))!, options);
    };
    const first = await read();
    expect(() => first.scopes.push('admin')).toThrow(TypeError);
    expect(() => {
      (first.claims as Record<string, unknown>).sub = 'mallory';
    }).toThrow(TypeError);
    const second = await read();
    expect(second).not.toBe(first);
    expect(second.claims.sub).toBe('alice');
    expect(second.scopes).not.toContain('admin');
  });
});

describe('what a session costs in the store', () => {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { iss: ISS, sub: 'alice', aud: 'app', exp: 2e9, iat: 1e9, email: 'alice@example.com', name: 'Alice' };
  const idToken = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64(claims)}.${'s'.repeat(342)}`;

  async function stored(idTokenClaims: Record<string, unknown>) {
    const { store, service } = setup(true);
    const { req, res } = exchange();
    const session = await service.create(req, res, {
      iss: ISS,
      sub: 'alice',
      sid: 's',
      idToken,
      idTokenClaims,
      accessToken: 'at',
    } as never);
    return { sealed: (await store.get(session.key))!.payload, reopened: (await service.read(session.key))!.payload };
  }

  it('keeps the ID token claims once (in the ID token) and gives them back whole', async () => {
    const same = await stored({ ...claims });
    const other = await stored({ ...claims, email: 'mallory@example.com' });
    expect(same.reopened.idTokenClaims).toEqual(claims);
    // Claims that differ from the token's are kept as given, never replaced by the token's.
    expect(other.reopened.idTokenClaims).toEqual({ ...claims, email: 'mallory@example.com' });
    // The compact one leaves the claims out. The payload is deflated, so that saves less than their JSON's length,
    // but far more than the two characters between the e-mail addresses, which is all that kept-whole claims differ by.
    expect(other.sealed.length - same.sealed.length).toBeGreaterThan(JSON.stringify(claims).length / 2);
  });
});
