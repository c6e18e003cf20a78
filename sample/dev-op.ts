/**
 * An embeddable development OpenID Provider (panva's oidc-provider 9) for the sample app and the
 * end-to-end tests. NOT for production: in-memory storage, fixed cookie keys, no passwords, and the
 * outbound-fetch SSRF protection switched off so that back-channel logout can reach 127.0.0.1.
 *
 * What it does:
 * - issuer `http://127.0.0.1:<port>` (no trailing slash);
 * - any username logs in (the password field is ignored); accounts carry sub, name, given_name,
 *   family_name, preferred_username, email (`<id>@example.com`) and email_verified;
 * - consent is never shown: every requested OIDC scope, claim and resource scope is granted
 *   (see `loadExistingGrant` and the consent branch of the interaction handler below);
 * - endpoints (oidc-provider 9 defaults): authorization `/auth`, token `/token`, userinfo `/me`,
 *   jwks `/jwks`, end session `/session/end` (+ `/session/end/confirm`, `/session/end/success`),
 *   revocation `/token/revocation`, introspection `/token/introspection`, discovery
 *   `/.well-known/openid-configuration`; login pages at `/interaction/:uid`;
 * - resource indicators: the resource server `https://api.example.test` (scopes `api:read api:write`)
 *   gets JWT access tokens (`typ: at+jwt`, `aud` = the resource). It is the default resource for
 *   the client_credentials grant; an authorization request only gets it when it names it with
 *   `resource=` (then the code/refresh token keep it, no `resource` needed at the token endpoint),
 *   so a plain `openid` login yields an opaque access token that works at the userinfo endpoint;
 * - refresh tokens are issued to every client allowed the `refresh_token` grant (no
 *   `offline_access` / `prompt=consent` dance);
 * - ID tokens carry the scope-requested claims (`conformIdTokenClaims: false`, like most
 *   commercial OPs), so an RP does not need the userinfo endpoint to learn name/email;
 * - RP-initiated logout: oidc-provider always answers `GET /session/end` with an HTML page whose form
 *   must be POSTed to `/session/end/confirm` (an XSRF token ties it to the OP session). This OP's
 *   page contains a single form with hidden `xsrf` and `logout=yes` fields that a browser
 *   auto-submits with a line of JavaScript; headless clients POST that form themselves
 *   (test/fixtures/login.ts `confirmLogoutAtOp`). Back-channel logout tokens are sent (and awaited)
 *   during that POST.
 *
 * Set `DEV_OP_DEBUG=1` to log requests and provider error events.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';

export interface DevOpOptions {
  /** default 0 (a free port) */
  port?: number;
  /** default '127.0.0.1' */
  host?: string;
  clients: ClientMetadata[];
  /**
   * Merged over the defaults: shallow per top-level key, except `features` (merged per feature),
   * `ttl` and `cookies` (merged per key).
   */
  configuration?: Partial<Configuration>;
  /** called for every request the OP receives (method, path without query, full url) */
  onRequest?: (entry: { method: string; path: string; url: string }) => void;
}

export interface DevOp {
  issuer: string;
  provider: import('oidc-provider').default;
  close(): Promise<void>;
}

/** The resource server the OP knows about; gets JWT access tokens. */
export const API_RESOURCE = 'https://api.example.test';
/** Scopes of {@link API_RESOURCE}. */
export const API_SCOPES = 'api:read api:write';

const debug = !!process.env.DEV_OP_DEBUG;

type Provider = import('oidc-provider').default;
type ProviderModule = typeof import('oidc-provider');

let providerModule: Promise<ProviderModule> | undefined;

/**
 * oidc-provider warnings that do not apply to this OP and are muted unless DEV_OP_DEBUG is set:
 * the Node 20 "Unsupported runtime" notice printed at import (the project supports ^20.19), and
 * "failed to setup SSRF protection" (printed under Jest's VM sandbox; the `fetch` override below
 * discards that protection anyway).
 */
const MOOT_WARNINGS = ['oidc-provider WARNING: Unsupported runtime', 'oidc-provider WARNING: failed to setup SSRF protection'];
const filteredConsoles = new WeakSet<Console>();

function muteMootWarnings(): void {
  if (debug || filteredConsoles.has(console)) return;
  const target = console;
  const original = target.warn;
  target.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && MOOT_WARNINGS.some((w) => (args[0] as string).includes(w))) return;
    original.apply(target, args);
  };
  filteredConsoles.add(target);
}

/** Imports oidc-provider once (per module registry). */
function loadProviderModule(): Promise<ProviderModule> {
  muteMootWarnings();
  providerModule ??= import('oidc-provider');
  return providerModule;
}

/**
 * A per-OP in-memory store (oidc-provider's own MemoryAdapter prints a warning, is an LRU capped at
 * 1000 entries, and is not part of its public API). Entries expire lazily.
 */
function createInMemoryAdapter() {
  type Payload = Record<string, unknown> & { uid?: string; grantId?: string; userCode?: string; consumed?: number };
  const entries = new Map<string, { value: unknown; expiresAt: number }>();
  const grantable = new Set([
    'AccessToken',
    'AuthorizationCode',
    'RefreshToken',
    'DeviceCode',
    'BackchannelAuthenticationRequest',
    'PreAuthorizedCode',
  ]);

  const get = <T>(key: string): T | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.value as T;
  };
  const set = (key: string, value: unknown, expiresIn?: number) => {
    // keep a minute past the artifact's own expiry (oidc-provider checks exp itself)
    entries.set(key, { value, expiresAt: typeof expiresIn === 'number' ? Date.now() + (expiresIn + 60) * 1000 : Infinity });
  };

  return (model: string) => {
    const key = (id: string) => `${model}:${id}`;
    const find = async (id: string | undefined) => (id === undefined ? undefined : get<Payload>(key(id)));
    return {
      async upsert(id: string, payload: Payload, expiresIn?: number) {
        set(key(id), payload, expiresIn);
        if (model === 'Session' && payload.uid) set(`sessionUid:${payload.uid}`, id, expiresIn);
        if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
        if (grantable.has(model) && payload.grantId) {
          const members = get<Set<string>>(`grant:${payload.grantId}`) ?? new Set<string>();
          members.add(key(id));
          set(`grant:${payload.grantId}`, members);
        }
      },
      find,
      findByUid: async (uid: string) => find(get<string>(`sessionUid:${uid}`)),
      findByUserCode: async (userCode: string) => find(get<string>(`userCode:${userCode}`)),
      async consume(id: string) {
        const payload = get<Payload>(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id: string) {
        entries.delete(key(id));
      },
      async revokeByGrantId(grantId: string) {
        for (const member of get<Set<string>>(`grant:${grantId}`) ?? []) entries.delete(member);
        entries.delete(`grant:${grantId}`);
      },
    };
  };
}

let signingKeys: { keys: Record<string, unknown>[] } | undefined;

/** One RSA (RS256) and one P-256 (ES256) signing key per process. */
function devSigningKeys(): { keys: Record<string, unknown>[] } {
  if (!signingKeys) {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    signingKeys = {
      keys: [
        { ...rsa, kid: 'dev-rs256', use: 'sig', alg: 'RS256' },
        { ...ec, kid: 'dev-es256', use: 'sig', alg: 'ES256' },
      ],
    };
  }
  return signingKeys;
}

function capitalize(value: string): string {
  return value ? value[0]!.toUpperCase() + value.slice(1) : value;
}

function escapeHtml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

function page(title: string, body: string, script?: string): string {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
${script ? `<script>${script}</script>` : ''}
</body>
</html>`;
}

/** Grants everything the current authorization request asks for (used instead of a consent page). */
async function grantEverythingRequested(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const { Grant } = oidc.provider as Provider;
  const grantId: string | undefined = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId ? await Grant.find(grantId) : undefined;
  grant ??= new Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });

  const scopes = [...(oidc.requestParamOIDCScopes as Set<string>)];
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const claims = [...(oidc.requestParamClaims as Set<string>)];
  if (claims.length) grant.addOIDCClaims(claims);
  const requested: Set<string> = oidc.requestParamScopes;
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers as Record<string, { scopes: Set<string> }>)) {
    const scope = [...requested].filter((s) => resourceServer.scopes.has(s));
    if (scope.length) grant.addResourceScope(indicator, scope.join(' '));
  }
  await grant.save();
  return grant;
}

/** The authentication context classes the dev OP offers (its login form's "Sign-in strength"). */
export const ACR_BASIC = 'urn:example:loa:1';
export const ACR_STRONG = 'urn:example:loa:2';

function defaultConfiguration(clients: ClientMetadata[], errors: ProviderModule['errors']): Configuration {
  return {
    clients,
    acrValues: [ACR_BASIC, ACR_STRONG],
    adapter: createInMemoryAdapter(),
    jwks: devSigningKeys(),
    cookies: {
      keys: ['dev-op-cookie-key-not-a-secret-0001', 'dev-op-cookie-key-not-a-secret-0002'],
    },
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      // amr (RFC 8176) with every ID token: how the user signed in, beside the acr the login form chose.
      openid: ['sub', 'amr'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    async findAccount(_ctx, id) {
      const given = capitalize(id);
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          name: `${given} Example`,
          given_name: given,
          family_name: 'Example',
          preferred_username: id,
          email: `${id}@example.com`,
          email_verified: true,
        }),
      };
    },
    // Consent is implied: a grant covering everything requested is created/extended on the fly.
    async loadExistingGrant(ctx) {
      if (!ctx.oidc.session?.accountId) return undefined;
      return grantEverythingRequested(ctx);
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // oidc-provider 9 passes an SSRF-protecting undici dispatcher that destroys connections to
    // loopback/private addresses (back-channel logout to 127.0.0.1 would fail); drop it.
    fetch: (url, options) => {
      const { dispatcher: _ssrfGuard, ...init } = options;
      return globalThis.fetch(url, init);
    },
    clientBasedCORS: () => true,
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(
        'oops! something went wrong',
        Object.entries(out)
          .map(([key, value]) => `<pre><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</pre>`)
          .join('\n'),
      );
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL || 60 * 60,
      AuthorizationCode: 60,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL || 10 * 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      RefreshToken: 14 * 24 * 60 * 60,
      Session: 14 * 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: KoaContextWithOIDC, form: string) {
          // `form` is `<form id="op.logoutForm" method="post" action="…/session/end/confirm"><input xsrf/></form>`
          const withLogout = form.replace(
            '</form>',
            '<input type="hidden" name="logout" value="yes"/><button type="submit">Yes, sign me out</button></form>',
          );
          ctx.type = 'html';
          ctx.body = page(`Sign out from ${ctx.host}?`, withLogout, 'document.forms[0].submit()');
        },
        async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p>Your sign-out was successful.</p>');
        },
      },
      backchannelLogout: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string; clientAuthMethod: string }, token: { clientId: string }) => {
          if (token.clientId !== client.clientId) {
            if (client.clientAuthMethod === 'none') return false;
            throw new errors.InvalidRequest!('client is not authorized to revoke the presented token');
          }
          return true;
        },
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx: KoaContextWithOIDC, client: { clientAuthMethod: string }, token: { clientId: string }) =>
          !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client.clientId),
      },
      dPoP: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No resource asked for: the API at the token endpoint (client_credentials), nothing for
        // authorization requests (→ opaque access tokens that work at the userinfo endpoint).
        defaultResource: async (ctx: KoaContextWithOIDC, _client: unknown, oneOf?: string | string[]) => {
          if (oneOf) return oneOf;
          return ctx.oidc.route === 'token' ? API_RESOURCE : undefined;
        },
        // a resource named at the authorization endpoint sticks to the code / refresh token
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator === API_RESOURCE) {
            return {
              scope: API_SCOPES,
              audience: API_RESOURCE,
              accessTokenFormat: 'jwt',
              accessTokenTTL: 60 * 60,
              jwt: { sign: { alg: 'RS256' } },
            };
          }
          throw new errors.InvalidTarget!();
        },
      },
    },
  };
}

/** Defaults overlaid with `overrides` (top-level shallow; features per feature; ttl/cookies per key). */
function mergeConfiguration(base: Configuration, overrides: Partial<Configuration> = {}): Configuration {
  const merged: Configuration = { ...base, ...overrides };
  if (overrides.features) {
    const features: NonNullable<Configuration['features']> = { ...base.features };
    for (const [name, feature] of Object.entries(overrides.features)) {
      features[name] = { ...base.features?.[name], ...feature };
    }
    merged.features = features;
  }
  if (overrides.ttl) merged.ttl = { ...base.ttl, ...overrides.ttl };
  if (overrides.cookies) merged.cookies = { ...base.cookies, ...overrides.cookies };
  return merged;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function loginPage(uid: string, loginHint: unknown, error?: string): string {
  const hint = typeof loginHint === 'string' ? loginHint : '';
  return page(
    'Sign-in',
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form id="op.loginForm" autocomplete="off" action="/interaction/${escapeHtml(uid)}/login" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any username" value="${escapeHtml(hint)}" autofocus>
  <input type="password" name="password" placeholder="and any password">
  <label>Sign-in strength
    <select name="acr">
      <option value="">password</option>
      <option value="${ACR_STRONG}">password + security key (for @StepUp routes)</option>
    </select>
  </label>
  <button type="submit">Sign-in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`,
  );
}

/** The OP's own interaction pages (oidc-provider's devInteractions are noisy and show a consent page). */
async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/.exec(path);
  if (!match) {
    sendHtml(res, 404, page('Not found', ''));
    return;
  }
  const action = match[2];
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== match[1]) {
    sendHtml(res, 400, page('Interaction mismatch', ''));
    return;
  }

  if (action === 'abort') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (action === 'login') {
    if (req.method !== 'POST') {
      sendHtml(res, 405, page('Method not allowed', ''));
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const login = form.get('login')?.trim();
    if (details.prompt.name !== 'login') {
      sendHtml(res, 400, page('Unexpected login submission', ''));
      return;
    }
    if (!login) {
      sendHtml(res, 400, loginPage(details.uid, details.params.login_hint, 'Enter a username'));
      return;
    }
    // The strength the user "chose" becomes the session's acr/amr (OIDC Core §2): what @StepUp routes check.
    const acr = form.get('acr');
    const strong = acr === ACR_STRONG;
    const loginResult = { accountId: login, amr: strong ? ['pwd', 'hwk'] : ['pwd'], ...(acr === ACR_BASIC || strong ? { acr } : {}) };
    await provider.interactionFinished(req, res, { login: loginResult }, { mergeWithLastSubmission: false });
    return;
  }

  switch (details.prompt.name) {
    case 'login':
      sendHtml(res, 200, loginPage(details.uid, details.params.login_hint));
      return;
    case 'consent': {
      // Only reached when consent is explicitly requested (prompt=consent) or for RAR: auto-approve.
      const promptDetails = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
        rar?: unknown[];
      };
      const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      const grant = existing ?? new provider.Grant({ accountId: details.session!.accountId!, clientId: details.params.client_id });
      if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
      if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      for (const detail of promptDetails.rar ?? []) grant.addRar(detail);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    default:
      sendHtml(res, 501, page(`Prompt ${details.prompt.name} not implemented`, ''));
  }
}

/** Starts the development OP on `host:port` (defaults 127.0.0.1, a free port). */
export async function startDevOp(options: DevOpOptions): Promise<DevOp> {
  const host = options.host ?? '127.0.0.1';
  const { default: Provider, errors } = await loadProviderModule();

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (!handler) {
      res.statusCode = 503;
      res.end();
      return;
    }
    handler(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const issuer = `http://${hostForUrl}:${port}`;

  let provider: Provider;
  try {
    provider = new Provider(issuer, mergeConfiguration(defaultConfiguration(options.clients, errors), options.configuration));
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  provider.proxy = false;
  if (!debug) provider.silent = true;
  if (debug) {
    for (const event of [
      'server_error',
      'backchannel.error',
      'grant.error',
      'authorization.error',
      'end_session.error',
      'introspection.error',
      'revocation.error',
      'userinfo.error',
    ]) {
      provider.on(event, (...args: unknown[]) => console.error(`[dev-op] ${event}`, ...args.filter((a) => a instanceof Error)));
    }
  }

  const providerCallback = provider.callback();
  handler = (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const entry = { method: req.method ?? 'GET', path: url.pathname, url: url.href };
    if (debug) console.log(`[dev-op] ${entry.method} ${entry.url}`);
    options.onRequest?.(entry);
    if (url.pathname.startsWith('/interaction/')) {
      handleInteraction(provider, req, res, url.pathname).catch((err: unknown) => {
        if (debug) console.error('[dev-op] interaction error', err);
        if (!res.headersSent)
          sendHtml(res, 500, page('Interaction error', `<pre>${escapeHtml(String((err as Error)?.message ?? err))}</pre>`));
        else res.end();
      });
      return;
    }
    providerCallback(req, res);
  };

  let closed: Promise<void> | undefined;
  return {
    issuer,
    provider,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
