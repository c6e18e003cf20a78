// Bearer-token benchmark (resource server), run after the session table by bench/run.mjs, or alone with
// `node bench/bearer.mjs` after `npm run build`. Ratios are against baselines measured in the same run
// (absolute req/s depend on the machine).
//
// - A local issuer (bench/issuer.mjs) publishes one RS256 and one ES256 key and counts JWKS fetches; this
//   process mints RFC 9068 tokens with the private keys it prints.
// - Server variants (bench/bearer-server.mjs), each its own process: none (no guard), passport-jwt
//   (@nestjs/passport + passport-jwt + jwks-rsa), jose-guard (createRemoteJWKSet + jwtVerify) and
//   oidc-guard (this module's OidcGuard, bearer only). autocannon drives them from this process. Diagnostic floors
//   last: noop-guard and duties-guard for a re-used token, jose-floor for a fresh one.
// - Resilience first, each against fresh servers: a cold herd of 200 concurrent requests (JWKS fetches,
//   failures), and a flood of 500 unknown-kid tokens followed by a newly published key (the waits for the
//   new key run in parallel, and the fresh-token pools are minted meanwhile). Printed last.
// - Throughput: RS256 and ES256 × {1 token, 1000 re-used tokens, a fresh token per request}; per scenario
//   the variants run back to back (none first), so drift on the machine hits them alike.
//
// Environment: BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 50), BENCH_BEARER_FRESH (most
// fresh tokens per algorithm, default 60000), BENCH_ROTATE_WAIT (s the new-kid token is retried, default
// 31) and BENCH_ROTATE_WAIT_PASSPORT (default 61: jwks-rsa's rate limit is per minute), BENCH_CPU_PROF (a directory: the
// oidc-guard throughput server runs with --cpu-prof into it), BENCH_FRESH_FLOOR_SECONDS (default 2).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { tokenMinter, unknownKidToken } from './bearer-mint.mjs';
import { cpuMicros, mainThreadCpuMicros } from './cpu.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP = 1;
const FRESH_MAX = Number(process.env.BENCH_BEARER_FRESH ?? 60_000);
const ROTATE_WAIT = Number(process.env.BENCH_ROTATE_WAIT ?? 31);
const PASSPORT_ROTATE_WAIT = Number(process.env.BENCH_ROTATE_WAIT_PASSPORT ?? 61);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const REUSED = 1000;
const HERD = 200;
const FLOOD = 500;
const FLOOD_CONCURRENCY = 50;
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 30);
const START_TIMEOUT_MS = 30_000;

const GUARDS = ['passport-jwt', 'jose-guard', 'oidc-guard'];
const FLOOR_GUARDS = ['noop-guard', 'duties-guard'];
/** Lowest server CPU µs per request of the floor variants (and none, oidc-guard) on RS256 with 1 re-used token. */
const floorCpu = {};
/** The main thread's share of floorCpu (the rest: GC helpers, the libuv pool, compiler threads). */
const floorMainCpu = {};
/** The fresh-token floor: jose's jwtVerify alone, beside the jose guard and a newly started OidcGuard server. */
const FRESH_FLOOR_GUARDS = ['jose-guard', 'jose-floor', 'oidc-guard'];
const FRESH_FLOOR_SECONDS = Number(process.env.BENCH_FRESH_FLOOR_SECONDS ?? 2);
/** Per algorithm, the lowest server CPU µs per request of each FRESH_FLOOR_GUARDS variant. */
const freshFloorCpu = {};
const ALGS = ['RS256', 'ES256'];
const MODES = ['1', String(REUSED), 'fresh'];
const t0 = Date.now();

// ---------------------------------------------------------------- child processes (all killed at the end)
const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });
}

async function startChild(script, args, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  try {
    const line = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} ${args[0] ?? ''}: no start line within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout }).once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${script} ${args[0] ?? ''} exited with ${code ?? signal}`));
      });
    });
    return { child, ...JSON.parse(line) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timeout = delay(5000).then(() => 'timeout');
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

const startIssuer = () => startChild('./issuer.mjs', []);
const startServer = (variant, issuer, nodeArgs) => startChild('./bearer-server.mjs', [variant, issuer], nodeArgs);

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------- small HTTP client (loopback, bounded)
function request(url, { method = 'GET', token, agent = false } = {}) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 15_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: `error:${err.code ?? err.message}` }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err) => resolve({ status: `error:${err.code ?? err.message}` }));
    req.end();
  });
}

async function issuerStats(issuer) {
  return JSON.parse((await request(`${issuer}/stats`)).body);
}

/** Sends one request per token, `concurrency` at a time; returns the count of each status. */
async function fire(port, tokens, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tokens.length) }, async () => {
      while (next < tokens.length) {
        const { status } = await request(`http://127.0.0.1:${port}/api`, { token: tokens[next++], agent });
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return statuses;
}

const fmtStatuses = (s) =>
  Object.entries(s)
    .map(([k, v]) => `${v}×${k}`)
    .join(' ');

// ---------------------------------------------------------------- tokens
function mintInWorkers(jwk, iss, count) {
  const parts = 2;
  return Promise.all(
    Array.from({ length: parts }, (_, i) => {
      const worker = new Worker(new URL('./bearer-mint.mjs', import.meta.url), {
        workerData: { jwk, iss, count: Math.ceil(count / parts), prefix: `fresh${i}` },
      });
      return new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => code !== 0 && reject(new Error(`mint worker exited with ${code}`)));
      });
    }),
  ).then((lists) => lists.flat().slice(0, count));
}

// ---------------------------------------------------------------- load
/**
 * One autocannon run at `port` with an Authorization header per request from `pool` (cycling), starting
 * at `cursor.i`. With `noRepeat`, a request never reuses a pool entry: the run stops early when the pool
 * runs out (flagged).
 */
async function load(port, pool, cursor, seconds, noRepeat) {
  let repeats = 0;
  const opts = {
    url: `http://127.0.0.1:${port}/api`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          let i = cursor.i++;
          if (i >= pool.length) {
            repeats += noRepeat ? 1 : 0;
            i %= pool.length;
          }
          return { ...req, headers: { authorization: `Bearer ${pool[i]}` } };
        },
      },
    ],
  };
  let capped = false;
  if (noRepeat) {
    // setupRequest may run once more per connection than requests are sent: keep that margin.
    const left = pool.length - cursor.i - CONNECTIONS * 2;
    if (left < CONNECTIONS * 10) throw new Error('fresh token pool exhausted');
    opts.maxOverallRequests = left;
    capped = true;
  }
  const result = await autocannon(opts);
  const sent = result.requests.total;
  return {
    sent,
    rps: sent / result.duration,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    exhausted: capped && result.duration < seconds - 0.2,
    repeats,
  };
}

async function measure(server, pool, cursor, noRepeat, seconds = DURATION) {
  await load(server.port, pool, cursor, WARMUP, noRepeat);
  const before = cpuMicros(server.child.pid);
  const mainBefore = mainThreadCpuMicros(server.child.pid);
  const r = await load(server.port, pool, cursor, seconds, noRepeat);
  const cpu = (cpuMicros(server.child.pid) - before) / Math.max(1, r.sent);
  const mainCpu = (mainThreadCpuMicros(server.child.pid) - mainBefore) / Math.max(1, r.sent);
  return { ...r, cpu, mainCpu, rss: rssMb(server.child.pid) };
}

/**
 * A sustained unknown-kid flood (FLOOD_SECONDS, 20 concurrent) on a fresh oidc-guard server with its own issuer:
 * the JWKS fetches it costs the OP, per minute (the cooldown bounds them).
 */
async function sustainedFlood(seconds) {
  const iss = await startIssuer();
  issuers.push(iss);
  const server = await startServer('oidc-guard', iss.issuer);
  try {
    const url = `http://127.0.0.1:${server.port}/api`;
    await request(url, { token: unknownKidToken(iss.issuer) });
    const start = (await issuerStats(iss.issuer)).jwksFetches;
    const until = Date.now() + seconds * 1000;
    let sent = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (Date.now() < until) {
          await request(url, { token: unknownKidToken(iss.issuer) });
          sent += 1;
        }
      }),
    );
    const fetches = (await issuerStats(iss.issuer)).jwksFetches - start;
    return { seconds, sent, fetches, perMinute: (fetches * 60) / seconds };
  } finally {
    await stopChild(server.child);
  }
}

// ---------------------------------------------------------------- resilience (fresh servers each)
/** Cold herd: a fresh server, HERD valid tokens (half RS256, half ES256) fired at once. */
async function coldHerd(variant, issuer, keyOf) {
  const mintRs = tokenMinter(keyOf.RS256, issuer, 'herd-rs');
  const mintEs = tokenMinter(keyOf.ES256, issuer, 'herd-es');
  const tokens = Array.from({ length: HERD }, (_, i) => (i % 2 ? mintEs() : mintRs()));
  const server = await startServer(variant, issuer);
  try {
    await request(`${issuer}/reset`, { method: 'POST' });
    const t = Date.now();
    const statuses = await fire(server.port, tokens, HERD);
    const ms = Date.now() - t;
    const { jwksFetches } = await issuerStats(issuer);
    return { variant, jwksFetches, failures: HERD - (statuses[200] ?? 0), statuses, ms };
  } finally {
    await stopChild(server.child);
  }
}

/**
 * Unknown-kid flood on a fresh server with its own issuer, then a key rotation: a token signed with the
 * newly published key is sent at once, then every 0.5 s until it passes or `bound` seconds have gone by.
 */
async function floodThenRotate(variant, bound) {
  const iss = await startIssuer();
  issuers.push(iss);
  const server = await startServer(variant, iss.issuer);
  try {
    const url = `http://127.0.0.1:${server.port}/api`;
    const tFlood = Date.now();
    const flood = await fire(
      server.port,
      Array.from({ length: FLOOD }, () => unknownKidToken(iss.issuer)),
      FLOOD_CONCURRENCY,
    );
    const floodFetches = (await issuerStats(iss.issuer)).jwksFetches;
    const rotated = await request(`${iss.issuer}/rotate?alg=RS256`, { method: 'POST' });
    if (rotated.status !== 200) throw new Error(`rotate: HTTP ${rotated.status}`);
    const token = tokenMinter(JSON.parse(rotated.body), iss.issuer, 'rotated')();
    const tRotate = Date.now();
    const first = (await request(url, { token })).status;
    let passedAfter = first === 200 ? 0 : undefined;
    let last = first;
    let tries = 1;
    while (passedAfter === undefined && Date.now() - tRotate < bound * 1000) {
      await delay(500);
      last = (await request(url, { token })).status;
      tries += 1;
      if (last === 200) passedAfter = (Date.now() - tRotate) / 1000;
    }
    const total = (await issuerStats(iss.issuer)).jwksFetches;
    return {
      variant,
      flood,
      floodFetches,
      first,
      passedAfter,
      last,
      tries,
      bound,
      total,
      sinceFlood: passedAfter === undefined ? undefined : (Date.now() - tFlood) / 1000,
    };
  } finally {
    await stopChild(server.child);
  }
}

// ---------------------------------------------------------------- main
const servers = {};
const issuers = [];
const rows = [];
const notes = [];
const herdRows = [];
const floodRows = [];
const sustainedRow = [];
try {
  const main = await startIssuer();
  issuers.push(main);
  const keyOf = Object.fromEntries(main.keys.map((k) => [k.alg, k]));
  process.stderr.write('bearer: resilience checks (about a minute; the fresh-token pools are minted meanwhile)…\n');

  for (const v of GUARDS) herdRows.push(await coldHerd(v, main.issuer, keyOf));

  // The rotation waits are idle time: the three run in parallel, and the fresh-token pools are minted
  // meanwhile (neither the fetch counts nor the 0.5 s-grained pass times depend on spare CPU).
  const minting = Promise.all(
    ALGS.map(async (alg) => {
      const t = Date.now();
      const pool = await mintInWorkers(keyOf[alg], main.issuer, FRESH_MAX);
      notes.push(`${alg} fresh pool: ${pool.length} tokens minted in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return [alg, pool];
    }),
  );
  const [flooded, sustained] = await Promise.all([
    Promise.all(GUARDS.map((v) => floodThenRotate(v, v === 'passport-jwt' ? PASSPORT_ROTATE_WAIT : ROTATE_WAIT))),
    sustainedFlood(FLOOD_SECONDS),
  ]);
  floodRows.push(...flooded);
  sustainedRow.push(sustained);
  const fresh = Object.fromEntries(await minting);

  // Throughput: all variants up at once, interleaved per scenario.
  process.stderr.write('bearer: throughput…\n');
  await Promise.all(
    ['none', ...GUARDS].map(async (v) => {
      servers[v] = await startServer(v, main.issuer, v === 'oidc-guard' && CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []);
    }),
  );
  const pools = {};
  for (const alg of ALGS) {
    const mint = tokenMinter(keyOf[alg], main.issuer, `reused-${alg}`);
    const reused = Array.from({ length: REUSED }, mint);
    pools[alg] = { 1: [reused[0]], [REUSED]: reused, fresh: fresh[alg] };
  }
  // Sanity: every guard refuses no token and accepts both algorithms; the no-guard app answers.
  for (const [v, s] of Object.entries(servers)) {
    const url = `http://127.0.0.1:${s.port}/api`;
    const anon = (await request(url)).status;
    const ok = await Promise.all(ALGS.map(async (alg) => (await request(url, { token: pools[alg][REUSED][1] })).status));
    if ((v === 'none' ? anon !== 200 : anon !== 401) || ok.some((st) => st !== 200)) {
      throw new Error(`${v}: sanity check failed (no token → ${anon}, RS256/ES256 → ${ok.join('/')})`);
    }
  }
  for (const alg of ALGS) {
    for (const mode of MODES) {
      // The no-guard app ignores the token: it gets the re-used pool (same header size) in every scenario.
      const none = await measure(servers.none, pools[alg][REUSED], { i: 0 }, false);
      const results = {};
      for (const v of GUARDS) {
        // Each server has its own verified-token cache, so one pool serves every variant without repeats.
        results[v] = await measure(servers[v], pools[alg][mode], { i: 0 }, mode === 'fresh');
      }
      rows.push({ alg, mode, variant: 'none', ...none, none: none.rps, jose: results['jose-guard'].rps });
      for (const v of GUARDS) rows.push({ alg, mode, variant: v, ...results[v], none: none.rps, jose: results['jose-guard'].rps });
    }
  }

  // The floor of a re-used token (RS256, 1 token): a no-op async guard, and one doing only OidcGuard's duties besides
  // its cache and checks (bench/bearer-server.mjs). Two alternating rounds; the lower CPU of each is kept.
  process.stderr.write('bearer: floor…\n');
  for (const v of FLOOR_GUARDS) servers[v] = await startServer(v, main.issuer);
  for (let round = 0; round < 2; round += 1) {
    for (const v of ['none', ...FLOOR_GUARDS, 'oidc-guard']) {
      const { cpu, mainCpu } = await measure(servers[v], pools.RS256[1], { i: 0 }, false);
      if (cpu < (floorCpu[v] ?? Infinity)) [floorCpu[v], floorMainCpu[v]] = [cpu, mainCpu];
    }
  }

  // The floor of a fresh token: jose's jwtVerify with the keys imported once and nothing else (bench/bearer-server.mjs
  // jose-floor), what any guard that has jose verify each new token costs at least. OidcGuard runs on a server started
  // for it (its cache has seen none of the pool); two alternating rounds on disjoint tokens, the lower CPU kept.
  process.stderr.write('bearer: fresh-token floor…\n');
  servers['jose-floor'] = await startServer('jose-floor', main.issuer);
  for (const alg of ALGS) {
    const floorServers = { ...servers, 'oidc-guard': await startServer('oidc-guard', main.issuer) };
    // The pool's last quarter warms the two new servers (their code optimized before anything is measured); the rounds
    // take the rest, so no measured token was seen before by the server it goes to.
    const split = Math.floor((pools[alg].fresh.length * 3) / 4);
    const [measured, warming] = [pools[alg].fresh.slice(0, split), pools[alg].fresh.slice(split)];
    const cursors = Object.fromEntries(FRESH_FLOOR_GUARDS.map((v) => [v, { i: 0 }]));
    freshFloorCpu[alg] = {};
    try {
      for (const v of ['jose-floor', 'oidc-guard']) await load(floorServers[v].port, warming, { i: 0 }, 2, true);
      for (let round = 0; round < 2; round += 1) {
        for (const v of FRESH_FLOOR_GUARDS) {
          const r = await measure(floorServers[v], measured, cursors[v], true, FRESH_FLOOR_SECONDS);
          if (r.failures > 0) throw new Error(`${v} ${alg}: ${r.failures} failed requests in the fresh-token floor`);
          freshFloorCpu[alg][v] = Math.min(freshFloorCpu[alg][v] ?? Infinity, r.cpu);
        }
      }
    } finally {
      await stopChild(floorServers['oidc-guard'].child);
    }
  }
} finally {
  await Promise.all([...Object.values(servers), ...issuers].map((s) => stopChild(s.child)));
}

const modeLabel = (m) => (m === 'fresh' ? 'fresh/request' : `${m} reused`);
console.log(
  `\nbearer guard — ${CONNECTIONS} connections, ${DURATION} s each after a ${WARMUP} s warm-up; ratios against the no-guard app and the jose guard of the same scenario`,
);
console.log('alg    tokens          variant          req/s   ×no-guard   ×jose   p99 ms   CPU µs/req   main thread   RSS MB   failures');
for (const r of rows) {
  const flag = r.exhausted ? ` (token pool ran out after ${r.seconds} s)` : r.repeats ? ` (${r.repeats} repeated tokens)` : '';
  console.log(
    `${r.alg.padEnd(6)} ${modeLabel(r.mode).padEnd(15)} ${r.variant.padEnd(14)} ${r.rps.toFixed(0).padStart(7)}   ${(r.rps / r.none).toFixed(2).padStart(8)}   ${(
      r.rps / r.jose
    )
      .toFixed(2)
      .padStart(
        5,
      )}   ${String(r.p99).padStart(6)}   ${r.cpu.toFixed(0).padStart(10)}   ${r.mainCpu.toFixed(0).padStart(11)}   ${r.rss.toFixed(0).padStart(6)}   ${String(r.failures).padStart(8)}${flag}`,
  );
}
notes.push(
  `servers are reused across scenarios (order: RS256 then ES256, each 1 → ${REUSED} → fresh): the ES256 rows of oidc-guard run with its verified-token cache already full (bearer.cache.maxEntries, default 10000) from the RS256 fresh scenario`,
);
for (const n of notes) console.log(`  ${n}`);
if (rows.some((r) => r.failures > 0 || r.repeats > 0)) process.exitCode = 1;

console.log(`\nbearer cold herd — ${HERD} concurrent valid requests (RS256 + ES256) to a freshly started server`);
console.log('variant          JWKS fetches   failures   time ms   statuses');
for (const r of herdRows) {
  console.log(
    `${r.variant.padEnd(16)} ${String(r.jwksFetches).padStart(12)}   ${String(r.failures).padStart(8)}   ${String(r.ms).padStart(7)}   ${fmtStatuses(r.statuses)}`,
  );
}
console.log(
  `\nbearer unknown-kid flood — ${FLOOD} RS256 tokens with random kids (${FLOOD_CONCURRENCY} concurrent) to a fresh server; then a NEW key is published and a token signed with it is sent at once, then every 0.5 s`,
);
console.log(
  'variant          JWKS fetches (flood)   flood statuses   new-kid token: first   passes after rotation    JWKS fetches (total)',
);
for (const r of floodRows) {
  const passes =
    r.passedAfter === undefined
      ? `not within ${r.bound} s (${r.last})`
      : `${r.passedAfter.toFixed(1)} s (${r.sinceFlood.toFixed(1)} s after flood)`;
  console.log(
    `${r.variant.padEnd(16)} ${String(r.floodFetches).padStart(20)}   ${fmtStatuses(r.flood).padEnd(14)}   ${String(r.first).padStart(20)}   ${passes.padEnd(22)}   ${String(r.total).padStart(20)}`,
  );
}

const sustained = sustainedRow[0];
console.log(
  `\nbearer sustained unknown-kid flood — ${sustained.seconds} s, 20 concurrent, oidc-guard: ${sustained.sent} requests, ${sustained.fetches} JWKS fetches (${sustained.perMinute.toFixed(1)} a minute)`,
);
console.log(`  bearer bench took ${((Date.now() - t0) / 1000).toFixed(0)} s`);

console.log('\nbearer floor — RS256, 1 re-used token, lower CPU of two alternating rounds');
console.log('variant          CPU µs/req   ×no-guard (CPU)   of which main thread');
for (const [v, cpu] of Object.entries(floorCpu)) {
  console.log(
    `${v.padEnd(16)} ${cpu.toFixed(1).padStart(10)}   ${(floorCpu.none / cpu).toFixed(2).padStart(15)}   ${floorMainCpu[v].toFixed(1).padStart(20)}`,
  );
}
console.log(
  '  (noop-guard: an async guard returning true; duties-guard: only a SHA-256 of the token, Cache-Control: no-store and req.user)',
);

console.log(
  `\nbearer fresh-token floor — a fresh token per request, lower CPU of two alternating rounds of ${FRESH_FLOOR_SECONDS} s; OidcGuard on a newly started server`,
);
console.log('alg    variant          CPU µs/req   ×jose (CPU)');
for (const [alg, byVariant] of Object.entries(freshFloorCpu)) {
  for (const [v, cpu] of Object.entries(byVariant)) {
    console.log(
      `${alg.padEnd(6)} ${v.padEnd(16)} ${cpu.toFixed(1).padStart(10)}   ${(byVariant['jose-guard'] / cpu).toFixed(2).padStart(11)}`,
    );
  }
}
console.log('  (jose-floor: jwtVerify with the keys imported once at start — no JWKS cache, no checks of its own, nothing cached)');

/** What bench/run.mjs judges against the targets. */
export const results = { rows, floodRows, sustained, herdRows, floorCpu, freshFloorCpu };
