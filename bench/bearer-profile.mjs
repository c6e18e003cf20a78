// CPU profile of one bearer scenario against one server variant (default: oidc-guard), for finding hot
// spots: `node bench/bearer-profile.mjs [1|1000|fresh] [RS256|ES256] [variant]` after `npm run build`.
// Runs the server with --cpu-prof, drives it with autocannon for BENCH_DURATION s (default 5), then prints
// the server's CPU per request, the heaviest functions by self time and the package's own (dist/ → lib/)
// functions by inclusive time. BENCH_PROF_JSON=<file> also writes per-request µs by function (for diffs).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { tokenMinter } from './bearer-mint.mjs';
import { cpuMicros } from './cpu.mjs';

const [mode = '1', alg = 'RS256', variant = 'oidc-guard'] = process.argv.slice(2);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const profDir = mkdtempSync(join(tmpdir(), 'bearer-prof-'));
const children = new Set();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function start(script, args, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, ...JSON.parse(line) };
}
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

try {
  const issuer = await start('./issuer.mjs', []);
  const jwk = issuer.keys.find((k) => k.alg === alg);
  const mint = tokenMinter(jwk, issuer.issuer, 'prof');
  const count = mode === 'fresh' ? 40_000 : Number(mode);
  const pool = Array.from({ length: count }, mint);
  const server = await start('./bearer-server.mjs', [variant, issuer.issuer], ['--cpu-prof', '--cpu-prof-dir', profDir]);
  let i = 0;
  const run = (duration) =>
    autocannon({
      url: `http://127.0.0.1:${server.port}/api`,
      connections: CONNECTIONS,
      duration,
      ...(mode === 'fresh' ? { maxOverallRequests: Math.max(CONNECTIONS * 10, pool.length - i - CONNECTIONS * 2) } : {}),
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${pool[i++ % pool.length]}` } }) }],
    });
  const warm = await run(1);
  const cpuBefore = cpuMicros(server.child.pid);
  const r = await run(DURATION);
  const measuredCpu = (cpuMicros(server.child.pid) - cpuBefore) / Math.max(1, r.requests.total);
  const requests = warm.requests.total + r.requests.total;
  console.log(
    `${variant} ${alg} ${mode}: ${(r.requests.total / r.duration).toFixed(0)} req/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}; ` +
      `server CPU ${measuredCpu.toFixed(1)} µs per request in the measured run (all threads, profiler on)`,
  );
  await stop(server.child);
  await stop(issuer.child);

  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
  const total = profile.endTime - profile.startTime; // µs
  const sampleUs = total / Math.max(1, profile.samples.length);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const label = (cf) => {
    const url = cf.url.replace(/^file:\/\//, '');
    const at = url.includes('node_modules/')
      ? url.slice(url.lastIndexOf('node_modules/') + 13)
      : url.includes('/dist/')
        ? `lib/${url.slice(url.indexOf('/dist/') + 6).replace(/\.js$/, '.ts')}`
        : url || '(native)';
    return `${at}:${cf.functionName || '(anonymous)'}`;
  };
  const self = new Map();
  for (const n of profile.nodes) self.set(label(n.callFrame), (self.get(label(n.callFrame)) ?? 0) + n.hitCount * sampleUs);
  // Inclusive time per label (counted once per sample stack even under recursion).
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  for (const n of profile.nodes) {
    if (!n.hitCount) continue;
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id).callFrame);
      if (!seen.has(l)) {
        seen.add(l);
        inclusive.set(l, (inclusive.get(l) ?? 0) + n.hitCount * sampleUs);
      }
    }
  }
  const idle = [...self].filter(([l]) => l === '(native):(idle)').reduce((a, [, us]) => a + us, 0);
  console.log(`server CPU: ${((total - idle) / requests).toFixed(1)} µs per request (${requests} requests, startup included)`);
  if (process.env.BENCH_PROF_JSON) {
    const perRequest = Object.fromEntries([...self].map(([l, us]) => [l, us / requests]));
    writeFileSync(
      process.env.BENCH_PROF_JSON,
      JSON.stringify({ self: perRequest, inclusive: Object.fromEntries([...inclusive].map(([l, us]) => [l, us / requests])) }),
    );
  }
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`\nself time (top 25 of ${(total / 1e6).toFixed(1)} s profiled)`);
  for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(us)}  ${l}`);
  console.log('\nthe package (lib/), inclusive time');
  for (const [l, us] of [...inclusive]
    .filter(([l]) => l.startsWith('lib/'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25))
    console.log(`  ${pct(us)}  ${l}`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(profDir, { recursive: true, force: true });
}
