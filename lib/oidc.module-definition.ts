import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { OidcModuleExtras, OidcModuleOptions } from './config/oidc-options.interface.js';
import { resolveOidcExtras } from './config/resolve-oidc-options.js';

export const {
  ConfigurableModuleClass: OidcConfigurableModule,
  MODULE_OPTIONS_TOKEN: OIDC_MODULE_OPTIONS,
  OPTIONS_TYPE: OIDC_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: OIDC_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OidcModuleOptions>({ moduleName: 'Oidc' })
  .setClassMethodName('forRoot')
  .setExtras<OidcModuleExtras>({ isGlobal: true, routes: { prefix: 'auth' } }, (definition, extras) => ({
    ...definition,
    global: resolveOidcExtras(extras).isGlobal,
  }))
  .build();
