export { OidcModule } from './oidc.module.js';
export type {
  AfterCallbackContext,
  AfterCallbackHook,
  ClientAuthMethod,
  OidcBearerOptions,
  OidcIssuerResolver,
  OidcLogoutOptions,
  OidcModuleExtras,
  OidcModuleOptions,
  OidcSessionOptions,
} from './config/oidc-options.interface.js';
export { OIDC_CLOCK, OIDC_REPLAY_CACHE, type OidcClock } from './oidc.constants.js';
export { OidcError, OIDC_ERROR_CODES, OIDC_ERROR_STATUS, type OidcErrorCode } from './errors/oidc.error.js';
export { OidcDiscoveryService } from './discovery/oidc-discovery.service.js';
export { OidcSessionService, type LoadedSession } from './session/oidc-session.service.js';
export type { SessionPayload } from './session/session-payload.js';
export {
  OidcTokenService,
  type AccessTokenRequest,
  type OidcFetchInit,
  type OidcTokenSet,
  type TokenExchangeParams,
} from './tokens/oidc-token.service.js';
export { OidcEvents, type OidcEvent, type OidcEventType, type OidcEventListener } from './events/oidc-events.service.js';
export { OidcGuard } from './guards/oidc.guard.js';
export { OidcAuthenticator, type OidcAuthenticateOptions } from './auth/oidc-authenticator.js';
export { OidcSocketAuth } from './auth/oidc-socket-auth.js';
export { AccessTokenVerifier, type AccessTokenVerifyOptions } from './bearer/access-token.verifier.js';
export { MemoryReplayCache, type ReplayCache } from './cache/replay-cache.js';
export type { SessionLock } from './cache/session-lock.js';
export { MemorySessionStore, type MemorySessionStoreOptions } from './session/memory-session.store.js';
export type { OidcSessionData, OidcSessionFilter, OidcSessionStore } from './session/session-store.interface.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './session/redis-session.store.js';
export { RedisReplayCache } from './cache/redis-replay-cache.js';
export { RedisSessionLock, type RedisSessionLockOptions } from './cache/redis-session-lock.js';
export type { RedisClient, RedisConnectionOptions } from './cache/redis-commands.js';
export { IdTokenClaims } from './claims/id-token-claims.js';
export { UserInfoClaims } from './claims/userinfo-claims.js';
export { AccessTokenClaims } from './claims/access-token-claims.js';
export { LogoutTokenClaims } from './claims/logout-token-claims.js';
export { ProviderMetadata } from './claims/provider-metadata.js';
export type { ClaimPath, OidcUser, OidcAuthMethod } from './user/oidc-user.js';
export { OIDC_BEARER_PASSPORT_STRATEGY, OIDC_PASSPORT_STRATEGY } from './passport/oidc-passport.strategies.js';
export { Public } from './decorators/public.decorator.js';
export { AuthMethods, type OidcCredentialSource } from './decorators/auth-methods.decorator.js';
export { Scopes } from './decorators/scopes.decorator.js';
export { StepUp, type StepUpRequirement } from './decorators/step-up.decorator.js';
export { Roles, RequireClaims, type ClaimCheck } from './decorators/roles.decorator.js';
export { CurrentUser, IdToken, UserInfo, AccessToken } from './decorators/user.decorators.js';
