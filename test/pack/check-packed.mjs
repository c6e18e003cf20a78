// Packed-artifact check: builds and packs the library exactly as npm would publish it, installs the
// tarball into a throwaway consumer, then imports it from ESM, requires it from CommonJS (Node's
// require(esm)) and boots a tiny Nest app with it. Prints "N passed, N failed".
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'nestjs-oidc-pack-'));
let passed = 0;
let failed = 0;

function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`  ✓ ${name}`);
  } catch (err) {
    failed++;
    console.log(`  ✕ ${name}\n${String(err?.stderr ?? '') || err?.message}`);
  }
}

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
}

function installedVersion(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

try {
  console.log('packed artifact');
  run('npm', ['run', 'build', '--silent'], root);
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], root).trim().split('\n').pop();
  const files = run('tar', ['-tzf', join(work, tarball)], work)
    .split('\n')
    .filter(Boolean);

  check('the tarball holds dist/ with declarations and no tests or sources', () => {
    if (!files.includes('package/dist/index.js') || !files.includes('package/dist/index.d.ts'))
      throw new Error('dist/index.{js,d.ts} missing');
    const stray = files.filter((f) => /\.spec\.|\/test\/|\/sample\/|\.ts$/.test(f) && !f.endsWith('.d.ts'));
    if (stray.length) throw new Error(`unexpected files: ${stray.join(', ')}`);
  });

  check('ships the MIT LICENSE', () => {
    if (!files.includes('package/LICENSE')) throw new Error('LICENSE missing from the tarball');
    if (!readFileSync(join(root, 'LICENSE'), 'utf8').startsWith('MIT License')) throw new Error('LICENSE is not the MIT text');
  });

  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  run('tar', ['-xzf', join(work, tarball), '-C', unpacked], work);
  check('every source map resolves inside the tarball (sources inlined or shipped)', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    if (maps.length === 0) throw new Error('no source maps shipped');
    const broken = [];
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(unpacked, file), 'utf8'));
      map.sources.forEach((source, i) => {
        const shipped = files.includes(join(dirname(file), source).replace(/\\/g, '/'));
        const inlined = typeof map.sourcesContent?.[i] === 'string' && map.sourcesContent[i].length > 0;
        if (!shipped && !inlined) broken.push(`${file} → ${source}`);
      });
    }
    if (broken.length) throw new Error(`unresolvable sources: ${broken.slice(0, 5).join(', ')} (${broken.length} in all)`);
  });

  // The published surface as a reviewable file: every declaration the tarball ships (comments stripped) and
  // the runtime export names. A change to either fails here until test/pack/public-api.snapshot.txt is
  // regenerated (UPDATE_API_SNAPSHOT=1 npm run test:pack) and committed: a visible diff in review.
  const snapshotFile = join(root, 'test/pack/public-api.snapshot.txt');
  const declarations = files
    .filter((f) => f.endsWith('.d.ts'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(unpacked, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.trim().startsWith('//'))
        .join('\n');
      return `=== ${f.replace(/^package\//, '')}\n${text}`;
    })
    .join('\n');

  const consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  const peers = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs'].map(
    (n) => `${n}@${installedVersion(n)}`,
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(work, tarball), ...peers], consumer);

  check('declarations keep their JSDoc', () => {
    const dts = readFileSync(join(consumer, 'node_modules/nestjs-oidc/dist/oidc.module.d.ts'), 'utf8');
    if (!dts.includes('@example')) throw new Error('JSDoc stripped from declarations');
  });

  const expected = [
    'OidcModule',
    'OidcGuard',
    'OidcSessionService',
    'OidcTokenService',
    'OidcDiscoveryService',
    'MemorySessionStore',
    'RedisSessionStore',
    'CurrentUser',
    'IdToken',
    'UserInfo',
    'AccessToken',
    'Public',
    'AuthMethods',
    'Scopes',
    'Roles',
    'IdTokenClaims',
    'UserInfoClaims',
    'AccessTokenClaims',
    'LogoutTokenClaims',
    'ProviderMetadata',
    'OidcError',
    'OidcAuthenticator',
  ];
  check('import from ESM', () => {
    const out = run(
      'node',
      ['--input-type=module', '-e', `import * as m from 'nestjs-oidc'; console.log(JSON.stringify(Object.keys(m)));`],
      consumer,
    );
    const keys = JSON.parse(out.trim().split('\n').pop());
    const missing = expected.filter((k) => !keys.includes(k));
    if (missing.length) throw new Error(`missing exports: ${missing.join(', ')}`);
  });

  check('the public surface matches test/pack/public-api.snapshot.txt (exports and declarations)', () => {
    const out = run(
      'node',
      ['--input-type=module', '-e', `import * as m from 'nestjs-oidc'; console.log(JSON.stringify(Object.keys(m).sort()));`],
      consumer,
    );
    const runtime = JSON.parse(out.trim().split('\n').pop());
    const current = `# Public surface of nestjs-oidc (generated by test/pack/check-packed.mjs; review its diff)\n=== runtime exports\n${runtime.join('\n')}\n${declarations}\n`;
    if (process.env.UPDATE_API_SNAPSHOT === '1') {
      writeFileSync(snapshotFile, current);
      return;
    }
    let recorded;
    try {
      recorded = readFileSync(snapshotFile, 'utf8');
    } catch {
      throw new Error('no snapshot yet: run UPDATE_API_SNAPSHOT=1 npm run test:pack and commit test/pack/public-api.snapshot.txt');
    }
    if (recorded !== current) {
      const a = recorded.split('\n');
      const b = current.split('\n');
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      throw new Error(
        `the public surface changed (first difference at line ${i + 1}: recorded ${JSON.stringify(a[i] ?? '')}, now ${JSON.stringify(b[i] ?? '')}). If intended, run UPDATE_API_SNAPSHOT=1 npm run test:pack and commit the snapshot.`,
      );
    }
  });

  check('the testing subpath resolves (nestjs-oidc/testing, with its declarations)', () => {
    const out = run('node', ['-e', `console.log(require.resolve('nestjs-oidc/testing'))`], consumer);
    if (!out.trim().endsWith('dist/testing/index.js')) throw new Error(out);
    if (!files.includes('package/dist/testing/index.d.ts')) throw new Error('dist/testing/index.d.ts missing');
  });

  check('nestjs-oidc/testing loads from ESM and from CommonJS (require(esm))', () => {
    const esm = run(
      'node',
      [
        '--input-type=module',
        '-e',
        `const t = await import('nestjs-oidc/testing'); console.log(typeof t.createTestIssuer, typeof t.sessionCookieFor)`,
      ],
      consumer,
    );
    const cjs = run(
      'node',
      ['-e', `const t = require('nestjs-oidc/testing'); console.log(typeof t.createTestIssuer, typeof t.sessionCookieFor)`],
      consumer,
    );
    for (const out of [esm, cjs]) if (!out.includes('function function')) throw new Error(out);
  });

  check('nestjs-oidc/testing refuses to load with NODE_ENV=production', () => {
    let refused = false;
    try {
      execFileSync('node', ['--input-type=module', '-e', `await import('nestjs-oidc/testing')`], {
        cwd: consumer,
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: 'pipe',
      });
    } catch (err) {
      refused = String(err.stderr).includes('refuses to load with NODE_ENV=production');
    }
    if (!refused) throw new Error('the testing kit loaded with NODE_ENV=production');
  });

  check('require from CommonJS (require(esm))', () => {
    const out = run(
      'node',
      ['-e', `const m = require('nestjs-oidc'); console.log(typeof m.OidcModule.forRootAsync, typeof m.OidcGuard);`],
      consumer,
    );
    if (!out.includes('function function')) throw new Error(out);
  });

  writeFileSync(
    join(consumer, 'boot.cjs'),
    `require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { OidcModule } = require('nestjs-oidc');
const net = require('node:net');
(async () => {
  const closed = await new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
  class AppModule {}
  Module({ imports: [OidcModule.forRootAsync({ useFactory: async () => ({
    issuer: 'http://127.0.0.1:' + closed, clientId: 'app', clientSecret: 'secret',
    baseUrl: 'http://127.0.0.1:3000', session: { secret: 'x'.repeat(32) },
  }) })] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = 'http://127.0.0.1:' + app.getHttpServer().address().port;
  const me = await fetch(base + '/auth/me');
  const login = await fetch(base + '/auth/login', { redirect: 'manual' });
  console.log(JSON.stringify({ me: me.status, login: login.status }));
  await app.close();
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  check('boots a CommonJS Nest app with OidcModule (OP down: /auth/me 401, /auth/login 503)', () => {
    const out = run('node', ['boot.cjs'], consumer).trim().split('\n').pop();
    const { me, login } = JSON.parse(out);
    if (me !== 401 || login !== 503) throw new Error(`got me=${me} login=${login}`);
  });
} catch (err) {
  failed++;
  console.log(`  ✕ packing or installing failed\n${String(err?.stderr ?? '') || err?.message}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
