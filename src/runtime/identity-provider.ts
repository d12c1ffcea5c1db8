/** The OpenID provider people sign in with: the configured one, or the in-process sandbox (mounted under /sandbox/idp). */
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Secrets } from '../bootstrap/secrets.js';
import { SANDBOX_CLIENT_ID } from './sandbox-client.js';
import { quietly } from './services.js';

export interface DiscoverSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowHttp: boolean;
}

export async function identityProvider(
  config: Config,
  secrets: Secrets,
  idpIssuer: string,
  logger: Logger,
  sandboxRouters: Array<{ mount: string; router: Router }>,
): Promise<DiscoverSettings> {
  if (config.oidc.mode === 'sandbox') {
    const { createSandboxIdp } = await quietly(logger, () => import('../sandbox/idp/index.js'));
    const idp = await quietly(logger, () =>
      createSandboxIdp({
        issuer: idpIssuer,
        clients: [
          {
            client_id: SANDBOX_CLIENT_ID,
            client_secret: secrets.sandboxOidcClientSecret,
            redirect_uris: [`${config.publicUrl}/auth/callback`],
          },
        ],
        cookieKeys: [secrets.sessionSecret],
        trustProxy: config.trustProxy !== false,
      }),
    );
    sandboxRouters.push({ mount: '/sandbox/idp', router: idp.router });
    return {
      issuer: idpIssuer,
      clientId: SANDBOX_CLIENT_ID,
      clientSecret: secrets.sandboxOidcClientSecret,
      allowHttp: idpIssuer.startsWith('http:'),
    };
  } else {
    return {
      issuer: config.oidc.issuer,
      clientId: config.oidc.clientId,
      clientSecret: config.oidc.clientSecret,
      allowHttp: config.oidc.issuer.startsWith('http:'),
    };
  }
}
