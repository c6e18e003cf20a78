import fc from 'fast-check';
import { parseCookieHeader, readCookie, serializeCookie } from './cookies.js';

describe('parseCookieHeader (RFC 6265 §5.4)', () => {
  it('parses name=value pairs separated by "; "', () => {
    expect(Object.fromEntries(parseCookieHeader('a=1; b=two;c=3'))).toEqual({ a: '1', b: 'two', c: '3' });
  });

  it('returns an empty map for an absent or empty header', () => {
    expect(parseCookieHeader(undefined).size).toBe(0);
    expect(parseCookieHeader('').size).toBe(0);
  });

  it('keeps the first occurrence of a repeated name', () => {
    expect(parseCookieHeader('sid=first; other=x; sid=second').get('sid')).toBe('first');
  });

  it('strips the quotes of a quoted value', () => {
    expect(parseCookieHeader('a="quoted-value"').get('a')).toBe('quoted-value');
  });

  it('keeps "=" inside a value', () => {
    expect(parseCookieHeader('tok=abc==').get('tok')).toBe('abc==');
  });

  it('ignores pairs whose name is not a token', () => {
    const cookies = parseCookieHeader('bad name=1; bad(paren)=2; =3; noequals; good=4');
    expect(Object.fromEntries(cookies)).toEqual({ good: '4' });
  });

  it('ignores pairs whose value has characters a cookie value may not hold', () => {
    const cookies = parseCookieHeader('sp=a b; comma=a,b; bs=a\\b; dq=a"b; ctl=a\u0001b; ok=fine');
    expect(Object.fromEntries(cookies)).toEqual({ ok: 'fine' });
  });

  it('accepts an empty value', () => {
    expect(parseCookieHeader('empty=; x=1').get('empty')).toBe('');
  });

  it('returns an empty map for a header over 16 KB (RS-06)', () => {
    const header = `sid=abc; pad=${'x'.repeat(16 * 1024)}`;
    expect(header.length).toBeGreaterThan(16 * 1024);
    expect(parseCookieHeader(header).size).toBe(0);
  });

  it('parses a header of exactly 16 KB', () => {
    const prefix = 'sid=abc; pad=';
    const header = prefix + 'x'.repeat(16 * 1024 - prefix.length);
    expect(header.length).toBe(16 * 1024);
    expect(parseCookieHeader(header).get('sid')).toBe('abc');
  });

  it('reads at most 100 pairs', () => {
    const header = Array.from({ length: 150 }, (_, i) => `c${i}=${i}`).join('; ');
    const cookies = parseCookieHeader(header);
    expect(cookies.size).toBe(100);
    expect(cookies.get('c99')).toBe('99');
    expect(cookies.has('c100')).toBe(false);
  });

  it('treats __proto__ and constructor as ordinary cookie names', () => {
    const cookies = parseCookieHeader('__proto__=x; constructor=y');
    expect(cookies.get('__proto__')).toBe('x');
    expect(cookies.get('constructor')).toBe('y');
    expect(cookies.size).toBe(2);
  });
});

describe('serializeCookie (RFC 6265 §4.1)', () => {
  it('writes every attribute given', () => {
    expect(
      serializeCookie('sid', 'abc', { maxAge: 3600, domain: 'example.com', path: '/app', httpOnly: true, secure: true, sameSite: 'lax' }),
    ).toBe('sid=abc; Max-Age=3600; Domain=example.com; Path=/app; HttpOnly; Secure; SameSite=Lax');
  });

  it('defaults to Path=/ and HttpOnly, with no Secure, SameSite, Domain or Max-Age', () => {
    expect(serializeCookie('sid', 'abc', {})).toBe('sid=abc; Path=/; HttpOnly');
  });

  it('omits HttpOnly only when httpOnly is false', () => {
    expect(serializeCookie('sid', 'abc', { httpOnly: false })).toBe('sid=abc; Path=/');
  });

  it.each([
    ['strict', 'Strict'],
    ['none', 'None'],
    ['lax', 'Lax'],
  ] as const)('writes SameSite=%s as %s', (sameSite, written) => {
    expect(serializeCookie('sid', 'abc', { sameSite, secure: true })).toContain(`; SameSite=${written}`);
  });

  it('floors a fractional Max-Age', () => {
    expect(serializeCookie('sid', 'abc', { maxAge: 59.9 })).toContain('; Max-Age=59;');
  });

  it('adds Expires at the epoch with Max-Age=0, so old browsers delete the cookie too', () => {
    expect(serializeCookie('sid', '', { maxAge: 0 })).toBe('sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly');
  });

  it('turns a negative Max-Age into Max-Age=0 with Expires at the epoch', () => {
    const out = serializeCookie('sid', '', { maxAge: -10 });
    expect(out).toContain('; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it('adds no Expires for a positive Max-Age', () => {
    expect(serializeCookie('sid', 'abc', { maxAge: 10 })).not.toContain('Expires');
  });

  it.each([[''], ['a b'], ['a;b'], ['a=b'], ['a\r\nb'], ['ä']])('throws a TypeError for the invalid name %p', (name) => {
    expect(() => serializeCookie(name, 'v', {})).toThrow(TypeError);
  });

  it.each([['a b'], ['a;b'], ['a,b'], ['a"b'], ['a\\b'], ['a\r\nSet-Cookie: x=1'], ['ä']])(
    'throws a TypeError for the invalid value %p',
    (value) => {
      expect(() => serializeCookie('sid', value, {})).toThrow(TypeError);
    },
  );

  it('round-trips through parseCookieHeader', () => {
    const header = serializeCookie('oidc.session', 'abc.DEF-_~', { secure: true }).split(';')[0]!;
    expect(parseCookieHeader(header).get('oidc.session')).toBe('abc.DEF-_~');
  });
});

describe('readCookie', () => {
  it('gives what parseCookieHeader gives for that name, on generated headers', () => {
    const part = fc.oneof(fc.constantFrom('oidc.session', 'a', 'b', ' ', '"', '=', ';', 'x y', '%41'), fc.string({ maxLength: 8 }));
    const header = fc.array(part, { maxLength: 12 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(header, fc.constantFrom('oidc.session', 'a', 'b'), (h, name) => {
        expect(readCookie(h, name)).toBe(parseCookieHeader(h).get(name));
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('skips a malformed first occurrence like parseCookieHeader does', () => {
    expect(readCookie('s=bad value; s=good', 's')).toBe('good');
    expect(readCookie('t=1; s="quoted"', 's')).toBe('quoted');
    expect(readCookie(undefined, 's')).toBeUndefined();
  });
});
