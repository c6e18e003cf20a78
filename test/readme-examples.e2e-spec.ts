/** The README's "Testing your app" example is a test file of this suite, word for word: it cannot rot. */
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);

it('README "Testing your app" shows test/testing-kit.e2e-spec.ts exactly', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const section = readme.slice(readme.indexOf('## Testing your app'));
  const block = /```ts\n([\s\S]*?)\n```/.exec(section)?.[1];
  expect(block).toBe(readFileSync(new URL('test/testing-kit.e2e-spec.ts', root), 'utf8').trimEnd());
});
