// Benchmarks, printed as ratios against baselines measured in the same run (absolute req/s depend on
// the machine). Each server variant runs in its own process; autocannon drives it from this one.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const root = new URL('..', import.meta.url);

execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });

async function startServer(variant) {
  // --expose-gc: the memory measurements collect garbage before reading RSS.
  const flags = variant.startsWith('fill-') ? ['--expose-gc'] : [];
  const child = spawn(process.execPath, [...flags, new URL('./server.mjs', import.meta.url).pathname, variant], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)));
  });
  return { child, ...JSON.parse(line) };
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function measure(variant, path) {
  const server = await startServer(variant);
  try {
    const url = `http://127.0.0.1:${server.port}${path}`;
    const headers = server.cookie ? { cookie: server.cookie } : {};
    await autocannon({ url, connections: CONNECTIONS, duration: 1, headers }); // warm-up
    const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${variant}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { variant, rps: result.requests.average, p99: result.latency.p99, rss: rssMb(server.child.pid) };
  } finally {
    server.child.kill('SIGTERM');
  }
}

const baseline = await measure('none', '/open');
const rows = [baseline, await measure('session-memory', '/secure')];
try {
  rows.push(await measure('session-redis', '/secure'));
} catch (err) {
  console.warn(`session-redis not measured (${err.message}): start Redis or set REDIS_URL.`);
}
console.log(`\nsession guard — ${CONNECTIONS} connections, ${DURATION} s each (ratios against the no-guard app of this run)`);
console.log('variant              req/s     ×no-guard   p99 ms   RSS MB');
for (const r of rows) {
  console.log(
    `${r.variant.padEnd(20)} ${r.rps.toFixed(0).padStart(7)}   ${(r.rps / baseline.rps).toFixed(2).padStart(8)}   ${String(r.p99).padStart(6)}   ${r.rss.toFixed(0).padStart(6)}`,
  );
}

/** RSS of a server holding `sessions` sessions in its MemorySessionStore, after a GC. */
async function fillRss(sessions) {
  const server = await startServer(`fill-memory:${sessions}`);
  try {
    return { sessions: server.fill.sessions, maxEntries: server.fill.maxEntries, rss: rssMb(server.child.pid) };
  } finally {
    server.child.kill('SIGTERM');
  }
}

const empty = await fillRss(0);
const fills = [await fillRss(10_000), await fillRss(100_000)];
console.log(
  `\nMemorySessionStore memory growth — sessions of login size (~1 KB ID token, ~1 KB access token), maxEntries ${empty.maxEntries}`,
);
console.log('sessions    RSS MB   +MB vs empty   KB/session   projected RSS MB at maxEntries');
for (const f of [empty, ...fills]) {
  const perSession = f.sessions ? ((f.rss - empty.rss) * 1024) / f.sessions : 0;
  const projected = empty.rss + (perSession * f.maxEntries) / 1024;
  console.log(
    `${String(f.sessions).padStart(8)}   ${f.rss.toFixed(0).padStart(6)}   ${(f.rss - empty.rss).toFixed(0).padStart(12)}   ${perSession.toFixed(1).padStart(10)}   ${f.sessions ? projected.toFixed(0).padStart(12) : '           –'}`,
  );
}
await import('./bearer.mjs');
