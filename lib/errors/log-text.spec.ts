import { logText, MAX_LOGGED_TEXT } from './log-text.js';

describe('logText', () => {
  it('turns every control character into a space, so no value starts a forged log line', () => {
    const forged = 'access_denied\n[Nest] 1 - LOG [OidcLogin] Login of subject admin completed.\r\u2028\u0085\u001b[31m';
    const out = logText(forged);
    expect(out).not.toMatch(/[\n\r\u2028\u0085\u001b]/);
    expect(out.startsWith('access_denied [Nest]')).toBe(true);
  });

  it('bounds the length', () => {
    const out = logText('x'.repeat(5000));
    expect(out).toHaveLength(MAX_LOGGED_TEXT + 1);
    expect(out.endsWith('…')).toBe(true);
    expect(logText('abcdef', 3)).toBe('abc…');
  });

  it('describes non-strings by type and never dumps them', () => {
    expect(logText({ secret: 'x' })).toBe('(object)');
    expect(logText(['a'])).toBe('(array)');
    expect(logText(undefined)).toBe('(none)');
    expect(logText(42)).toBe('42');
  });
});
