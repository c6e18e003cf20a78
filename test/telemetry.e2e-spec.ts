/**
 * OpenTelemetry (API.md §7.6) with the SDK's in-memory exporters, against the real OP: the spans and metrics a login,
 * a refresh, Bearer requests (JWT and introspected), a refused token and a back-channel logout produce, with their attributes — and no token, code,
 * cookie, subject or e-mail in any of them.
 */
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { clientCredentialsGrant } from 'openid-client';
import { Browser } from './fixtures/browser.js';
import { confirmLogoutAtOp, loginAtOp, loginThroughApp } from './fixtures/login.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { API_RESOURCE } from './fixtures/op.fixture.js';

/** A reader that collects when asked. */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new TestReader();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });

/** Every data point of the collected metrics, by metric name. */
async function points(): Promise<Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const out = new Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      out.set(
        metric.descriptor.name,
        metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
      );
    }
  }
  return out;
}

describe('OpenTelemetry spans and metrics', () => {
  let env: OpAndApp;

  beforeAll(async () => {
    // Before the app starts: the module takes its meter when it loads the API.
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    env = await startOpAndApp('express', { bearer: { audience: API_RESOURCE, introspection: true } });
  });

  afterAll(async () => {
    await env?.close();
    trace.disable();
    metrics.disable();
  });

  it('records the login, Bearer, refusal and back-channel logout story, with attributes a dashboard can use', async () => {
    const browser = new Browser();
    expect((await loginThroughApp(browser, env.t.baseUrl, 'otel-user')).status).toBe(302);
    // The session's access token expires: the next request refreshes it.
    env.t.clock.advance(3 * 3600);
    expect((await browser.get(`${env.t.baseUrl}/profile`)).status).toBe(200);
    env.t.clock.offsetMs = 0;
    const { access_token: token } = await clientCredentialsGrant(env.rp, { resource: API_RESOURCE, scope: 'api:read' });
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    expect((await fetch(`${env.t.baseUrl}/profile`, bearer)).status).toBe(200);
    expect((await fetch(`${env.t.baseUrl}/profile`, bearer)).status).toBe(200);
    expect((await fetch(`${env.t.baseUrl}/profile`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
    // A login without a resource gets an opaque access token: the module asks the introspection endpoint.
    const { access_token: opaque } = await loginAtOp(env.rp, env.t.baseUrl, 'otel-api-user');
    expect(opaque).not.toContain('.');
    expect((await fetch(`${env.t.baseUrl}/profile`, { headers: { authorization: `Bearer ${opaque}` } })).status).toBe(200);
    await confirmLogoutAtOp(browser, `${env.op.issuer}/session/end`);

    const names = spans.getFinishedSpans().map((s) => s.name);
    for (const name of ['oidc.discovery', 'oidc.grant', 'oidc.jwks.fetch', 'oidc.introspection', 'oidc.logout.backchannel'])
      expect(names).toContain(name);
    const grant = spans.getFinishedSpans().find((s) => s.name === 'oidc.grant');
    expect(grant?.attributes['oidc.grant_type']).toBe('authorization_code');
    const grantTypes = spans
      .getFinishedSpans()
      .filter((s) => s.name === 'oidc.grant')
      .map((s) => s.attributes['oidc.grant_type']);
    expect(grantTypes).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));

    const collected = await points();
    expect(collected.get('oidc.logins')).toEqual([expect.objectContaining({ attributes: { outcome: 'success' }, value: 1 })]);
    expect(collected.get('oidc.refreshes')).toEqual([expect.objectContaining({ attributes: { outcome: 'success' }, value: 1 })]);
    expect(collected.get('oidc.bearer.refusals')).toEqual([
      expect.objectContaining({ attributes: { reason: 'ERR_OIDC_INVALID_TOKEN' }, value: 1 }),
    ]);
    expect(collected.get('oidc.token_cache.hits')?.[0]?.value).toBeGreaterThanOrEqual(1);
    expect(collected.get('oidc.token_cache.misses')?.[0]?.value).toBeGreaterThanOrEqual(1);
    expect(collected.get('oidc.jwks.fetches')?.[0]?.value).toBeGreaterThanOrEqual(1);
    expect(collected.has('oidc.op.duration')).toBe(true);

    // No token, code, cookie, subject or e-mail anywhere.
    const everything = JSON.stringify([
      spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, status: s.status })),
      [...collected.entries()],
    ]);
    for (const secret of ['otel-user', '@example.com', 'eyJ', token, opaque, 'oidc.session', 'code='])
      expect(everything).not.toContain(secret);
  });
});
