import { SessionCrypto } from './session-crypto.js';

const SECRET_A = 'A'.repeat(16) + 'secret-number-one-0123456789';
const SECRET_B = 'B'.repeat(16) + 'secret-number-two-0123456789';
const SECRET_C = 'C'.repeat(16) + 'secret-number-three-01234567';

/** Replaces the character at `i` with a different base64url character. */
function flipAt(s: string, i: number): string {
  const c = s[i] === 'Q' ? 'w' : 'Q';
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('SessionCrypto — signed cookies (HMAC-SHA256)', () => {
  const crypto = new SessionCrypto([SECRET_A]);

  it('verifyCookie returns the value signCookie signed', () => {
    const signed = crypto.signCookie('session-id-123');
    expect(signed.startsWith('session-id-123.')).toBe(true);
    expect(crypto.verifyCookie(signed)).toBe('session-id-123');
  });

  it('keeps a value that itself contains dots', () => {
    expect(crypto.verifyCookie(crypto.signCookie('a.b.c'))).toBe('a.b.c');
  });

  it('is deterministic for the same key and value', () => {
    expect(crypto.signCookie('v')).toBe(new SessionCrypto([SECRET_A]).signCookie('v'));
  });

  it('fails when a character of the value is flipped', () => {
    const signed = crypto.signCookie('session-id-123');
    expect(crypto.verifyCookie(flipAt(signed, 0))).toBeUndefined();
    expect(crypto.verifyCookie(flipAt(signed, 5))).toBeUndefined();
  });

  it('fails when a character of the signature is flipped', () => {
    const signed = crypto.signCookie('session-id-123');
    const sigStart = signed.lastIndexOf('.') + 1;
    expect(crypto.verifyCookie(flipAt(signed, sigStart))).toBeUndefined();
    expect(crypto.verifyCookie(flipAt(signed, sigStart + 10))).toBeUndefined();
  });

  it('fails for a signature moved onto another value', () => {
    const signed = crypto.signCookie('victim');
    const sig = signed.slice(signed.lastIndexOf('.') + 1);
    expect(crypto.verifyCookie(`attacker.${sig}`)).toBeUndefined();
  });

  it.each([[''], ['no-dot-at-all'], ['.only-signature'], ['value.'], [`${'x'.repeat(600)}.sig`]])('fails for the malformed %p', (value) => {
    expect(crypto.verifyCookie(value)).toBeUndefined();
  });

  it('fails for a cookie signed with a different secret', () => {
    const foreign = new SessionCrypto([SECRET_B]).signCookie('session-id-123');
    expect(crypto.verifyCookie(foreign)).toBeUndefined();
  });

  describe('rotation', () => {
    const old = new SessionCrypto([SECRET_A]);
    const rotated = new SessionCrypto([SECRET_B, SECRET_A]);

    it('a cookie signed by the old secret still verifies with [new, old]', () => {
      expect(rotated.verifyCookie(old.signCookie('sid'))).toBe('sid');
    });

    it('signs with the first (new) secret: an instance that only knows the new secret verifies it', () => {
      const signed = rotated.signCookie('sid');
      expect(new SessionCrypto([SECRET_B]).verifyCookie(signed)).toBe('sid');
      expect(old.verifyCookie(signed)).toBeUndefined();
    });

    it('a cookie from a secret in neither position fails', () => {
      expect(rotated.verifyCookie(new SessionCrypto([SECRET_C]).signCookie('sid'))).toBeUndefined();
    });
  });
});

describe('SessionCrypto — sealed payloads (A256GCM)', () => {
  const crypto = new SessionCrypto([SECRET_A]);
  const value = { access_token: 'at-super-secret-value', claims: { sub: 'alice', email: 'alice@example.com' } };
  const aad = 'store-key-1';

  it('open returns what seal sealed', async () => {
    const sealed = await crypto.seal(value, aad);
    await expect(crypto.open(sealed, aad)).resolves.toEqual(value);
  });

  it('does not reveal the plaintext in the sealed output', async () => {
    const sealed = await crypto.seal(value, aad);
    expect(sealed).not.toContain('at-super-secret-value');
    expect(sealed).not.toContain('alice@example.com');
    expect(sealed).not.toContain(Buffer.from(JSON.stringify(value)).toString('base64url').slice(0, 24));
    const decodedParts = sealed.split('.').map((p) => Buffer.from(p, 'base64url').toString('latin1'));
    expect(decodedParts.join('\n')).not.toContain('at-super-secret-value');
  });

  it('uses a fresh IV each time (two seals of the same value differ)', async () => {
    expect(await crypto.seal(value, aad)).not.toBe(await crypto.seal(value, aad));
  });

  it('open fails for tampered ciphertext', async () => {
    const sealed = await crypto.seal(value, aad);
    const parts = sealed.split('.');
    parts[3] = flipAt(parts[3]!, 2);
    await expect(crypto.open(parts.join('.'), aad)).resolves.toBeUndefined();
  });

  it('open fails for a tampered authentication tag', async () => {
    const sealed = await crypto.seal(value, aad);
    const parts = sealed.split('.');
    parts[4] = flipAt(parts[4]!, 1);
    await expect(crypto.open(parts.join('.'), aad)).resolves.toBeUndefined();
  });

  it('open fails when the protected header is rewritten to claim the other context', async () => {
    const sealed = await crypto.seal(value, aad);
    const parts = sealed.split('.');
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    header.ctx = 'store-key-2';
    parts[0] = Buffer.from(JSON.stringify(header)).toString('base64url');
    await expect(crypto.open(parts.join('.'), 'store-key-2')).resolves.toBeUndefined();
  });

  it('open fails for a different aad (context binding)', async () => {
    const sealed = await crypto.seal(value, aad);
    await expect(crypto.open(sealed, 'store-key-2')).resolves.toBeUndefined();
  });

  it('open fails for a payload sealed with a foreign secret', async () => {
    const sealed = await new SessionCrypto([SECRET_B]).seal(value, aad);
    await expect(crypto.open(sealed, aad)).resolves.toBeUndefined();
  });

  it('open fails for garbage', async () => {
    await expect(crypto.open('not-a-jwe', aad)).resolves.toBeUndefined();
    await expect(crypto.open('', aad)).resolves.toBeUndefined();
  });

  it('rotation: a payload sealed with the old secret opens with [new, old]', async () => {
    const sealed = await crypto.seal(value, aad);
    await expect(new SessionCrypto([SECRET_B, SECRET_A]).open(sealed, aad)).resolves.toEqual(value);
  });

  it('rotation: [new, old] seals with the new secret', async () => {
    const sealed = await new SessionCrypto([SECRET_B, SECRET_A]).seal(value, aad);
    await expect(new SessionCrypto([SECRET_B]).open(sealed, aad)).resolves.toEqual(value);
    await expect(crypto.open(sealed, aad)).resolves.toBeUndefined();
  });
});

describe('SessionCrypto — ids', () => {
  it('newId has at least 256 bits (43 base64url characters)', () => {
    const id = SessionCrypto.newId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(32);
  });

  it('newId differs on each call', () => {
    const ids = new Set(Array.from({ length: 100 }, () => SessionCrypto.newId()));
    expect(ids.size).toBe(100);
  });

  it('storeKey is deterministic and is not the id', () => {
    const id = SessionCrypto.newId();
    expect(SessionCrypto.storeKey(id)).toBe(SessionCrypto.storeKey(id));
    expect(SessionCrypto.storeKey(id)).not.toBe(id);
    expect(SessionCrypto.storeKey(id)).not.toContain(id);
  });

  it('storeKey differs for different ids', () => {
    expect(SessionCrypto.storeKey('a')).not.toBe(SessionCrypto.storeKey('b'));
  });

  it('compresses only when asked (server-side payloads), and opens both forms to the same value', async () => {
    const crypto = new SessionCrypto(['a-unit-test-session-secret-of-32-chars!!']);
    const value = { token: 'eyJ'.repeat(200), claims: { email: 'alice@example.com' } };
    const plain = await crypto.seal(value, 'ctx');
    const packed = await crypto.seal(value, 'ctx', { compress: true });
    const header = (sealed: string) =>
      JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    // A value an attacker can see the length of (a cookie) is never compressed by default (CRIME).
    expect(header(plain).cmp).toBeUndefined();
    expect(header(packed).cmp).toBe('deflate');
    expect(packed.length).toBeLessThan(plain.length / 2);
    await expect(crypto.open(plain, 'ctx')).resolves.toEqual(value);
    await expect(crypto.open(packed, 'ctx')).resolves.toEqual(value);
    await expect(crypto.open(packed, 'other-ctx')).resolves.toBeUndefined();
  });
});
