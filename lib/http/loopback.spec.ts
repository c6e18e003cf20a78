import { isLoopback } from './loopback.js';

describe('isLoopback (one check for the whole module)', () => {
  it.each(['http://localhost:3000', 'http://LOCALHOST', 'http://127.0.0.1', 'http://127.1.2.3:8080', 'http://[::1]:4000'])(
    '%s is loopback',
    (url) => {
      expect(isLoopback(new URL(url))).toBe(true);
    },
  );

  it.each([
    'http://127.evil.example',
    'http://127.0.0.1.nip.io',
    'http://localhost.evil.example',
    'http://128.0.0.1',
    'http://[::2]',
    'http://[::ffff:7f00:1]',
    'http://example.com',
  ])('%s is not loopback', (url) => {
    expect(isLoopback(new URL(url))).toBe(false);
  });
});
