/**
 * Minimal ambient type declarations for `oidc-provider` 9.x, which ships no TypeScript types.
 *
 * Only the surface used by the development OP (sample/dev-op.ts) and the test fixtures is typed;
 * everything else is left open (`unknown` / index signatures). If `@types/oidc-provider` is ever
 * added as a devDependency, delete this file.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  type UnknownObject = Record<string, unknown>;
  type MaybePromise<T> = T | Promise<T>;

  /** Client registration metadata (RFC 7591 / OIDC Registration names). */
  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    redirect_uris?: string[];
    post_logout_redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
    application_type?: 'web' | 'native';
    token_endpoint_auth_method?: string;
    token_endpoint_auth_signing_alg?: string;
    id_token_signed_response_alg?: string;
    userinfo_signed_response_alg?: string;
    introspection_endpoint_auth_method?: string;
    revocation_endpoint_auth_method?: string;
    backchannel_logout_uri?: string;
    backchannel_logout_session_required?: boolean;
    frontchannel_logout_uri?: string;
    frontchannel_logout_session_required?: boolean;
    dpop_bound_access_tokens?: boolean;
    require_pushed_authorization_requests?: boolean;
    scope?: string;
    jwks?: { keys: UnknownObject[] };
    jwks_uri?: string;
    [key: string]: unknown;
  }

  export interface AccountClaims {
    sub: string;
    [key: string]: unknown;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: UnknownObject, rejected: string[]): MaybePromise<AccountClaims>;
    [key: string]: unknown;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  /** The Koa context oidc-provider hands to configuration helpers (`ctx.oidc` is left open). */
  export interface KoaContextWithOIDC {
    oidc: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    type: string;
    status: number;
    body: unknown;
    host: string;
    [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  export interface Feature {
    enabled?: boolean;
    [key: string]: unknown;
  }

  /** Provider configuration. Known keys are typed loosely; anything else is accepted. */
  export interface Configuration {
    acrValues?: string[];
    adapter?: unknown;
    claims?: Record<string, null | string[]>;
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: unknown) => boolean;
    clients?: ClientMetadata[];
    clientDefaults?: Partial<ClientMetadata>;
    clockTolerance?: number;
    conformIdTokenClaims?: boolean;
    cookies?: {
      names?: Record<string, string>;
      long?: UnknownObject;
      short?: UnknownObject;
      keys?: string[];
    };
    extraParams?: string[] | UnknownObject;
    features?: Record<string, Feature | undefined>;
    fetch?: (url: string | URL, options: RequestInit & { dispatcher?: unknown }) => Promise<Response>;
    findAccount?: (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => MaybePromise<Account | undefined>;
    interactions?: { policy?: unknown; url?: (ctx: KoaContextWithOIDC, interaction: any) => MaybePromise<string> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    issueRefreshToken?: (ctx: KoaContextWithOIDC, client: any, code: any) => MaybePromise<boolean>; // eslint-disable-line @typescript-eslint/no-explicit-any
    jwks?: { keys: UnknownObject[] };
    loadExistingGrant?: (ctx: KoaContextWithOIDC) => MaybePromise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: unknown) => boolean };
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string>, error: Error) => MaybePromise<void>;
    responseTypes?: string[];
    rotateRefreshToken?: boolean | ((ctx: KoaContextWithOIDC) => MaybePromise<boolean>);
    routes?: Record<string, string>;
    scopes?: string[];
    ttl?: Record<string, number | ((ctx: KoaContextWithOIDC, token: any, client: any) => number)>; // eslint-disable-line @typescript-eslint/no-explicit-any
    [key: string]: unknown;
  }

  export interface InteractionPrompt {
    name: string;
    reasons: string[];
    details: UnknownObject;
  }

  export interface Interaction {
    uid: string;
    prompt: InteractionPrompt;
    params: UnknownObject & { client_id: string; scope?: string };
    session?: { accountId?: string; uid?: string; [key: string]: unknown };
    grantId?: string;
    lastSubmission?: UnknownObject;
    returnTo: string;
    [key: string]: unknown;
  }

  export interface Grant {
    jti: string;
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    addRar(detail: unknown): void;
    getOIDCScopeEncountered(): string;
    getOIDCClaimsEncountered(): string[];
    getResourceScopeEncountered(resource: string): string;
    save(ttl?: number): Promise<string>;
    [key: string]: unknown;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    proxy: boolean;
    silent: boolean | undefined;
    readonly Grant: GrantConstructor;
    readonly Client: { find(id: string): Promise<unknown> };
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    cookieName(type: string): string;
    pathFor(name: string, opts?: UnknownObject): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: UnknownObject,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: UnknownObject,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: string, listener: (...args: any[]) => void): this; // eslint-disable-line @typescript-eslint/no-explicit-any
    off(event: string, listener: (...args: any[]) => void): this; // eslint-disable-line @typescript-eslint/no-explicit-any
    [key: string]: unknown;
  }

  export const errors: Record<string, new (...args: any[]) => Error>; // eslint-disable-line @typescript-eslint/no-explicit-any
  export const interactionPolicy: UnknownObject;
  export default Provider;
}
