/**
 * Property-based fuzzing of every route and header the module reads, over Express and Fastify, against the
 * real OP. The invariants hold for any input:
 *
 * - no 5xx other than the documented 502/503/504 (bad input is a 4xx, never a crash);
 * - a redirect never leaves the app's or the OP's origin (RFC 9700 §4.11);
 * - no input is reflected unescaped in a response body;
 * - no code, token or cookie value sent in a request shows up in a log line, and outside text is logged
 *   only without control characters and bounded in length (CWE-117 log forging);
 * - every request is answered within a time bound (no ReDoS, no hang).
 *
 * CI runs a fixed seed and `FUZZ_RUNS` runs per property (default 40); for a longer hunt run e.g.
 * `FUZZ_RUNS=2000 FUZZ_SEED=$RANDOM npm run test:jest -- test/fuzz`. A failure prints the seed and the
 * shrunk counterexample, so it replays exactly.
 */
import fc from 'fast-check';
import { sanitizeReturnTo } from '../lib/http/return-to.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { PLATFORMS, type TestApp } from './fixtures/app.fixture.js';
import { API_RESOURCE, type TestOp } from './fixtures/op.fixture.js';
import { startOpAndApp } from './fixtures/op-app.fixture.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = process.env.FUZZ_SEED === undefined ? 20_261_205 : Number(process.env.FUZZ_SEED);
const PARAMS: fc.Parameters<unknown> = { numRuns: RUNS, seed: SEED, endOnFailure: true };
/** Far above any honest answer on a loaded machine; only a runaway regex or a hang gets near it. */
const REQUEST_BOUND_MS = 15_000;
/** What a fuzzed value carries so the invariants can find it again in logs and bodies. */
const MARK = 'FUZZMARK';
/** What a fuzzed secret (code, token, cookie value) carries: it must never be logged. */
const SECRET = 'FUZZSECRET';

/** Fragments attackers like: markup, quotes, CRLF and other control characters, encodings, traversal, unicode. */
const FRAGMENTS = [
  '<script>',
  '</script>',
  '<img src=x onerror=alert(1)>',
  '"',
  "'",
  '&',
  '&amp;',
  '\n',
  '\r\n',
  '\u2028',
  '\u0085',
  '\u0000',
  '\u001b[31m',
  '\t',
  '%',
  '%0a',
  '%0d%0a',
  '%2f',
  '%5c',
  '/',
  '//',
  '\\',
  '/\\',
  '..',
  '../',
  '?',
  '#',
  '=',
  ';',
  ',',
  ' ',
  '@',
  ':',
  'http://evil.example',
  '//evil.example',
  'javascript:',
  'é',
  '漢',
  '😀',
  '\ud800',
  'a',
  'Z',
  '0',
  '{',
  '}',
  '[',
  ']',
  '__proto__',
  'constructor',
  'null',
  '[Nest] 1 - LOG ',
  MARK,
];

/** A hostile string: fragments in any order, sometimes very long, always carrying {@link MARK}. */
const hostile = fc
  .tuple(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 24 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.nat({ max: 4 }))
  .map(([parts, noise, repeat]) => {
    const text = `${parts.join('')}${noise}${MARK}`;
    return repeat === 4 ? text.repeat(300) : text;
  });

/** A header value Node's HTTP client will send: visible ASCII, space and tab. */
const headerText = fc.string({
  unit: fc.constantFrom(...' \t!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'),
  maxLength: 300,
});

const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Something shaped like a compact JWS: random JSON header and payload, random signature. */
const jwtLike = fc
  .tuple(
    fc.oneof(
      fc.json(),
      fc.record(
        {
          alg: fc.constantFrom('none', 'HS256', 'RS256', 'ES256', 'EdDSA', 'RS1', ''),
          kid: fc.string(),
          typ: fc.string(),
          jku: fc.webUrl(),
          crit: fc.array(fc.string()),
        },
        { requiredKeys: ['alg'] },
      ),
    ),
    fc.oneof(
      fc.json(),
      fc.record({
        iss: fc.string(),
        aud: fc.oneof(fc.string(), fc.array(fc.string())),
        exp: fc.oneof(fc.integer(), fc.double(), fc.string()),
        sub: fc.string(),
        cnf: fc.json(),
      }),
    ),
    fc.uint8Array({ maxLength: 300 }),
  )
  .map(([header, payload, sig]) => `${b64url(header)}.${b64url(payload)}.${Buffer.from(sig).toString('base64url')}${SECRET}`);

interface Answer {
  status: number;
  location: string | null;
  cacheControl: string | null;
  body: string;
}

describe.each(PLATFORMS)('fuzzing the routes and headers (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let close: () => Promise<void>;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    ({ op, t, close } = await startOpAndApp(platform, { bearer: { audience: API_RESOURCE } }, { logger }));
  });
  afterAll(async () => {
    await close?.();
  });
  beforeEach(() => {
    logger.lines.length = 0;
  });

  async function send(path: string, init: RequestInit = {}): Promise<Answer> {
    const res = await fetch(`${t.baseUrl}${path}`, { redirect: 'manual', ...init, signal: AbortSignal.timeout(REQUEST_BOUND_MS) });
    return {
      status: res.status,
      location: res.headers.get('location'),
      cacheControl: res.headers.get('cache-control'),
      body: await res.text(),
    };
  }

  /**
   * Node's HTTP parser answers 431 itself when the request line and headers pass its 16 KB limit: the
   * module never sees such a request (like the platform's 413 for an oversized body).
   */
  const tooLarge = (answer: Answer): boolean => answer.status === 431;

  /** The invariants every answer and the logs must satisfy, whatever was sent. */
  function expectInvariants(answer: Answer, sent: readonly string[]): void {
    // Documented statuses only: 2xx–4xx, or the OP-side 502/503/504.
    expect(answer.status < 500 || [502, 503, 504].includes(answer.status)).toBe(true);
    if (answer.status >= 300 && answer.status < 400) {
      expect(answer.location).toBeTruthy();
      const target = new URL(answer.location!, t.baseUrl).origin;
      expect([new URL(t.baseUrl).origin, new URL(op.issuer).origin]).toContain(target);
    }
    for (const value of sent) {
      if (value.length >= 8 && /[<>"']/.test(value)) expect(answer.body).not.toContain(value);
    }
    for (const line of logger.lines) {
      expect(line).not.toContain(SECRET);
      let at = line.indexOf(MARK);
      while (at !== -1) {
        // CWE-117: outside text reaches a log line only without control characters…
        expect(line.slice(Math.max(0, at - 400), at)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        at = line.indexOf(MARK, at + MARK.length);
      }
      // …and bounded in length (a 4 KB value does not land whole).
      if (line.includes(MARK)) expect(line.length).toBeLessThan(2_000);
    }
  }

  /** Starts a real login (no OP round trip) and returns its transaction cookie and `state`. */
  async function startLogin(): Promise<{ cookie: string; state: string }> {
    const res = await fetch(`${t.baseUrl}/auth/login`, { redirect: 'manual', headers: { accept: 'text/html' } });
    const state = new URL(res.headers.get('location')!).searchParams.get('state')!;
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .join('; ');
    return { cookie, state };
  }

  const CALLBACK_NAMES = ['state', 'code', 'iss', 'error', 'error_description', 'error_uri', 'session_state', 'id_token', MARK];

  it('GET /auth/callback: any query, with or without a live login transaction', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...CALLBACK_NAMES), hostile), { maxLength: 6, selector: ([name]) => name }),
        fc.boolean(),
        fc.boolean(),
        async (pairs, live, repeat) => {
          logger.lines.length = 0;
          const query = new URLSearchParams();
          const headers: Record<string, string> = { accept: 'text/html' };
          if (live) {
            // A real transaction, and the OP's own `iss` (RFC 9207): the fuzzed values reach the deepest checks.
            const tx = await startLogin();
            query.set('state', tx.state);
            query.set('iss', op.issuer);
            headers.cookie = tx.cookie;
          }
          for (const [name, value] of pairs) {
            // With a live transaction, its `state` and `iss` stay the only ones unless repeats are fuzzed too.
            if (live && (name === 'state' || name === 'iss') && !repeat) continue;
            query.append(name, name === 'code' ? `${value}${SECRET}` : value);
            if (repeat && name !== 'state') query.append(name, value);
          }
          const answer = await send(`/auth/callback?${query}`, { headers });
          expectInvariants(
            answer,
            pairs.map(([, v]) => v),
          );
          // API.md §2: a failed callback is 400 or 401 (502/503/504 when the OP fails), never cached.
          if (answer.status >= 400 && !tooLarge(answer)) expect(answer.cacheControl).toContain('no-store');
        },
      ),
      PARAMS,
    );
  });

  it('POST /auth/callback (form_post): any body under any content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...CALLBACK_NAMES), hostile), { maxLength: 6, selector: ([name]) => name }),
        fc.constantFrom(
          'application/x-www-form-urlencoded',
          'application/json',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded; charset=utf-16',
          '',
        ),
        fc.boolean(),
        async (pairs, contentType, live) => {
          logger.lines.length = 0;
          const form = new URLSearchParams();
          const headers: Record<string, string> = {};
          if (contentType) headers['content-type'] = contentType;
          if (live) {
            const tx = await startLogin();
            form.set('state', tx.state);
            form.set('iss', op.issuer);
            headers.cookie = tx.cookie;
          }
          for (const [name, value] of pairs) {
            if (live && (name === 'state' || name === 'iss')) continue;
            form.append(name, name === 'code' ? `${value}${SECRET}` : value);
          }
          const body = contentType === 'application/json' ? JSON.stringify(Object.fromEntries(form)) : form.toString();
          const answer = await send('/auth/callback', { method: 'POST', headers, body });
          expectInvariants(
            answer,
            pairs.map(([, v]) => v),
          );
        },
      ),
      PARAMS,
    );
  });

  it('Cookie header: any cookies on guarded, public and module routes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('oidc.session', 'oidc.tx', 'oidc.session.sig', 'a', MARK), headerText), { maxLength: 6 }),
        fc.constantFrom('/profile', '/profile/health', '/auth/me', '/auth/logout', '/auth/callback?state=x'),
        async (cookies, path) => {
          logger.lines.length = 0;
          const cookie = cookies.map(([name, value]) => `${name}=${value.replace(/[;,]/g, '')}${SECRET}`).join('; ');
          const answer = await send(path, { headers: { cookie, accept: 'text/html' } });
          expectInvariants(answer, []);
          // A cookie that is not a valid session never authenticates (RFC 6265 §8.6: integrity is ours to check).
          if (path === '/auth/me') expect(answer.status).toBe(401);
        },
      ),
      PARAMS,
    );
  });

  it('Authorization and DPoP headers: any scheme and token on a guarded route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'DPoP', 'dpop', 'Basic', 'Token', ''),
        fc.oneof(
          jwtLike,
          headerText.map((s) => `${s}${SECRET}`),
        ),
        fc.option(fc.oneof(jwtLike, headerText), { nil: undefined }),
        fc.constantFrom(' ', '  ', '\t'),
        async (scheme, token, dpop, gap) => {
          logger.lines.length = 0;
          const headers: Record<string, string> = { authorization: `${scheme}${gap}${token}` };
          if (dpop !== undefined) headers.dpop = dpop;
          const answer = await send('/profile', { headers });
          expectInvariants(answer, []);
          // Nothing random is a valid credential: RFC 6750 §3 / RFC 9449 §7.1 answer 400 or 401 with a challenge.
          expect([400, 401]).toContain(answer.status);
          expect(answer.cacheControl).toContain('no-store');
        },
      ),
      PARAMS,
    );
  });

  it('POST /auth/backchannel-logout: any body is a 400 invalid_request with no-store, and ends no session', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .array(
              fc.tuple(fc.constantFrom('logout_token', 'logout_token[]', 'LOGOUT_TOKEN', '__proto__', MARK), fc.oneof(jwtLike, hostile)),
              { maxLength: 4 },
            )
            .map((pairs) => new URLSearchParams(pairs).toString()),
          fc.json(),
          hostile,
        ),
        async (body) => {
          logger.lines.length = 0;
          const answer = await send('/auth/backchannel-logout', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body,
          });
          expectInvariants(answer, [body]);
          // Back-Channel Logout §2.8: a token that does not validate is a 400; 413 is the platform's size limit.
          expect([400, 413]).toContain(answer.status);
          if (answer.status === 400) {
            expect(answer.cacheControl).toContain('no-store');
            expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
          }
        },
      ),
      PARAMS,
    );
  });

  it('returnTo: login and logout redirect only to the OP or the app, whatever is asked for', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, fc.constantFrom('/auth/login', '/auth/logout'), async (returnTo, route) => {
        logger.lines.length = 0;
        const answer = await send(`${route}?${new URLSearchParams({ returnTo })}`, { headers: { accept: 'text/html' } });
        expectInvariants(answer, [returnTo]);
        if (!tooLarge(answer)) expect(answer.status).toBe(302);
      }),
      PARAMS,
    );
  });
});

describe('sanitizeReturnTo (property)', () => {
  const base = 'https://app.example';

  it('always yields a same-origin path, whatever it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.webUrl(),
          fc.array(fc.constantFrom(...FRAGMENTS)).map((p) => `/${p.join('')}`),
        ),
        (value) => {
          const out = sanitizeReturnTo(value);
          expect(out.startsWith('/')).toBe(true);
          expect(out.startsWith('//')).toBe(false);
          expect(out).not.toMatch(/[\u0000-\u001f\u007f\\]/);
          expect(new URL(out, base).origin).toBe(base);
        },
      ),
      { numRuns: RUNS * 25, seed: SEED },
    );
  });
});
