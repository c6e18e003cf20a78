// A minimal local token issuer for the bearer benchmark (bench/bearer.mjs), run in its own process.
// Serves discovery and a JWKS with one RS256 and one ES256 key on 127.0.0.1 (random port) and counts
// JWKS fetches. Tokens are minted by the parent with the private keys this process prints once at start:
//   stdout (one line): {"issuer":"http://127.0.0.1:PORT","keys":[<private JWK with kid/alg/use>, …]}
// Endpoints:
//   GET  /.well-known/openid-configuration   issuer = its own URL, jwks_uri = <issuer>/jwks
//   GET  /jwks                                public keys (counted)
//   GET  /stats                               {"jwksFetches":n,"discoveryFetches":n,"keys":n}
//   POST /reset                               zeroes the counters
//   POST /rotate?alg=RS256|ES256              publishes a NEW key (new kid), answers its private JWK
import { createServer } from 'node:http';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

/** Published keys are bounded: /rotate refuses beyond this many. */
const MAX_KEYS = 20;

const keys = []; // { privateJwk, publicJwk }
let jwksFetches = 0;
let discoveryFetches = 0;

async function newKey(alg) {
  if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`unsupported alg ${alg}`);
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const publicJwk = await exportJWK(publicKey);
  const kid = `${alg.toLowerCase()}-${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}`;
  const meta = { kid, alg, use: 'sig' };
  const key = { publicJwk: { ...publicJwk, ...meta }, privateJwk: { ...(await exportJWK(privateKey)), ...meta } };
  keys.push(key);
  return key;
}

await newKey('RS256');
await newKey('ES256');

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

let issuer = '';
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  req.resume();
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /.well-known/openid-configuration':
      discoveryFetches += 1;
      return send(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      });
    case 'GET /jwks':
      jwksFetches += 1;
      return send(res, 200, { keys: keys.map((k) => k.publicJwk) });
    case 'GET /stats':
      return send(res, 200, { jwksFetches, discoveryFetches, keys: keys.length });
    case 'POST /reset':
      jwksFetches = 0;
      discoveryFetches = 0;
      return send(res, 200, { ok: true });
    case 'POST /rotate': {
      if (keys.length >= MAX_KEYS) return send(res, 409, { error: 'too many keys' });
      newKey(url.searchParams.get('alg') ?? 'RS256').then(
        (key) => send(res, 200, key.privateJwk),
        (err) => send(res, 400, { error: String(err.message) }),
      );
      return undefined;
    }
    default:
      return send(res, 404, { error: 'not found' });
  }
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ issuer, keys: keys.map((k) => k.privateJwk) })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
// The parent owns this process: when its stdin closes (parent gone), exit too.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
