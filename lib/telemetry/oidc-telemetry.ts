import { Injectable } from '@nestjs/common';

/** Span names (API.md §7.6). */
export type OidcSpanName = 'oidc.discovery' | 'oidc.grant' | 'oidc.jwks.fetch' | 'oidc.introspection' | 'oidc.logout.backchannel';
/** Counter names (API.md §7.6). */
export type OidcCounterName =
  'oidc.logins' | 'oidc.refreshes' | 'oidc.bearer.refusals' | 'oidc.jwks.fetches' | 'oidc.token_cache.hits' | 'oidc.token_cache.misses';
/**
 * Attribute values: codes, outcomes, grant types, issuer URLs — never a token, code, cookie, `sub` or e-mail (so the
 * type takes only what the module itself names).
 */
export type OidcTelemetryAttributes = Readonly<Record<string, string | number | boolean>>;

/** The parts of `@opentelemetry/api` used here (an optional peer: typed structurally, loaded at run time). */
interface OtelSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): { startSpan(name: string, options?: { attributes?: OidcTelemetryAttributes }): OtelSpan };
  };
  metrics: {
    getMeter(
      name: string,
      version?: string,
    ): {
      createCounter(name: string, options?: { description?: string }): { add(value: number, attributes?: OidcTelemetryAttributes): void };
      createHistogram(
        name: string,
        options?: { description?: string; unit?: string },
      ): { record(value: number, attributes?: OidcTelemetryAttributes): void };
    };
  };
}

const SCOPE = 'nestjs-oidc';
/** OpenTelemetry's SpanStatusCode.ERROR. */
const STATUS_ERROR = 2;

const COUNTERS: Readonly<Record<OidcCounterName, string>> = {
  'oidc.logins': 'Logins completed or refused, by outcome',
  'oidc.refreshes': 'Session token refreshes, by outcome',
  'oidc.bearer.refusals': 'Access tokens refused, by reason (the error code)',
  'oidc.jwks.fetches': 'JWKS fetches from an issuer',
  'oidc.token_cache.hits': 'Access tokens served from the verified-token cache',
  'oidc.token_cache.misses': 'Access tokens verified afresh',
};

/**
 * OpenTelemetry for the module (API.md §7.6), when the optional peer `@opentelemetry/api` is installed: spans around
 * calls to the OP and back-channel logouts, counters and an OP-call duration histogram. Without the package nothing is
 * loaded and every call here is a no-op; with the API but no SDK, the API's own no-ops run.
 */
@Injectable()
export class OidcTelemetry {
  private tracer?: ReturnType<OtelApi['trace']['getTracer']>;
  private counters?: Map<OidcCounterName, { add(value: number, attributes?: OidcTelemetryAttributes): void }>;
  private opDuration?: { record(value: number, attributes?: OidcTelemetryAttributes): void };
  /** Settles once the API is loaded (or known to be absent): the first spans of the app's start wait for it. */
  private readonly ready: Promise<void>;

  constructor() {
    this.ready = loadApi().then(
      (api) => this.init(api),
      () => undefined,
    );
  }

  /** Whether the API is installed (counters on the hot path are skipped without it). */
  get enabled(): boolean {
    return this.counters !== undefined;
  }

  private init(api: OtelApi | undefined): void {
    if (!api) return;
    this.tracer = api.trace.getTracer(SCOPE);
    const meter = api.metrics.getMeter(SCOPE);
    this.counters = new Map(
      (Object.keys(COUNTERS) as OidcCounterName[]).map((name) => [name, meter.createCounter(name, { description: COUNTERS[name] })]),
    );
    this.opDuration = meter.createHistogram('oidc.op.duration', { description: 'Duration of calls to the OpenID Provider', unit: 'ms' });
  }

  /** Adds `value` (default 1) to a counter. */
  count(name: OidcCounterName, attributes?: OidcTelemetryAttributes, value = 1): void {
    this.counters?.get(name)?.add(value, attributes);
  }

  /**
   * Runs `work` in a span named `name`; a call to the OP (`opCall`) also records `oidc.op.duration`. A failure sets the
   * span's status to error with the error's code (an `OidcError` code), never its message.
   */
  async span<T>(name: OidcSpanName, attributes: OidcTelemetryAttributes, work: () => Promise<T>, opCall = true): Promise<T> {
    await this.ready;
    const tracer = this.tracer;
    if (!tracer && !this.opDuration) return work();
    const span = tracer?.startSpan(name, { attributes });
    const started = performance.now();
    try {
      return await work();
    } catch (err) {
      const code = (err as { code?: unknown } | undefined)?.code;
      span?.setStatus({ code: STATUS_ERROR, message: typeof code === 'string' ? code : 'error' });
      throw err;
    } finally {
      if (opCall) this.opDuration?.record(performance.now() - started, { operation: name, ...attributes });
      span?.end();
    }
  }
}

/** `@opentelemetry/api` when installed; the specifier is a variable so no bundler makes it a static dependency. */
async function loadApi(): Promise<OtelApi | undefined> {
  const specifier = '@opentelemetry/api';
  try {
    const loaded = (await import(specifier)) as Partial<OtelApi> & { default?: Partial<OtelApi> };
    const api = loaded.trace ? loaded : loaded.default;
    return api?.trace && api.metrics ? (api as OtelApi) : undefined;
  } catch (err) {
    const code = (err as { code?: unknown } | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** {@link OidcTelemetry.span} where the service may be absent (services built by hand in tests). */
export function traced<T>(
  telemetry: OidcTelemetry | undefined,
  name: OidcSpanName,
  attributes: OidcTelemetryAttributes,
  work: () => Promise<T>,
  opCall = true,
): Promise<T> {
  return telemetry ? telemetry.span(name, attributes, work, opCall) : work();
}
