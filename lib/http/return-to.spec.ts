import { sanitizeReturnTo } from './return-to.js';

/** What a browser would do with the result as a Location header on https://rp.example. */
function resolvesSameOrigin(value: string): boolean {
  const base = 'https://rp.example';
  return new URL(value, base).origin === base;
}

describe('sanitizeReturnTo (SE-09, RFC 9700 §4.11.1)', () => {
  it('accepts a same-origin path', () => {
    expect(sanitizeReturnTo('/profile')).toBe('/profile');
  });

  it('keeps the query and the fragment', () => {
    expect(sanitizeReturnTo('/a?b=c#d')).toBe('/a?b=c#d');
  });

  it('keeps percent-encoded characters as they are', () => {
    expect(sanitizeReturnTo('/search?q=a%20b')).toBe('/search?q=a%20b');
  });

  it.each([
    ['an absolute URL', 'https://evil.example'],
    ['a scheme-relative URL', '//evil.example'],
    ['a triple-slash URL', '///evil.example'],
    ['a slash-backslash URL (browsers read it as //)', '/\\evil.example'],
    ['a double-backslash URL', '\\\\evil.example'],
    ['encoded slashes that decode to //', '/%2F%2Fevil.example'],
    ['an encoded backslash', '/%5Cevil.example'],
    ['a scheme without slashes', 'https:evil.example'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a tab between the slashes (browsers strip it)', '/\t/evil.example'],
    ['userinfo pointing elsewhere', 'https://rp.local@evil.example'],
    ['raw CRLF (header injection)', '/ok\r\nSet-Cookie: x=1'],
    ['a relative path without a leading slash', 'profile'],
  ])('returns / for %s', (_label, value) => {
    expect(sanitizeReturnTo(value)).toBe('/');
  });

  it('never lets encoded CRLF become a raw CR/LF or leave the origin', () => {
    const out = sanitizeReturnTo('/ok%0d%0aSet-Cookie:%20x=1');
    expect(out).not.toMatch(/[\r\n]/);
    expect(out.startsWith('/')).toBe(true);
    expect(out.startsWith('//')).toBe(false);
    expect(resolvesSameOrigin(out)).toBe(true);
  });

  it('returns / for a value over 2048 characters', () => {
    expect(sanitizeReturnTo(`/${'a'.repeat(2999)}`)).toBe('/');
  });

  it('accepts a value of exactly 2048 characters', () => {
    const value = `/${'a'.repeat(2047)}`;
    expect(sanitizeReturnTo(value)).toBe(value);
  });

  it.each([[undefined], [null], [42], [{}], [['/profile']]])('returns / for the non-string %p', (value) => {
    expect(sanitizeReturnTo(value)).toBe('/');
  });

  it('returns / for an empty string', () => {
    expect(sanitizeReturnTo('')).toBe('/');
  });

  it('returns / for malformed percent-encoding', () => {
    expect(sanitizeReturnTo('/%E0%A4%A')).toBe('/');
  });

  // Dot segments are removed by URL normalisation; what comes out must still not be scheme-relative.
  it.each(['/.//evil.example', '/x/..//evil.example', '/%2e//evil.example', '/%2E%2E//evil.example'])(
    'never returns a scheme-relative URL after dot-segment normalisation: %s',
    (value) => {
      const out = sanitizeReturnTo(value);
      expect(out.startsWith('//')).toBe(false);
      expect(resolvesSameOrigin(out)).toBe(true);
    },
  );
});
