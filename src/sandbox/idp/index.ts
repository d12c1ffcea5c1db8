/**
 * The sandbox OpenID provider: oidc-provider
 * with Gatehouse's own sign-in page and an in-memory user directory, mounted
 * in the same Express process.
 *
 *   const idp = await createSandboxIdp({ issuer: `${publicUrl}/sandbox/idp`, clients, cookieKeys });
 *   app.use('/sandbox/idp', idp.router);   // before any body parser, session or CSRF middleware
 *
 * The mount path must equal the issuer's path. State (sign-ins in progress,
 * codes, tokens) is in memory: a restart only loses sign-ins in flight.
 */
import express, { type Router } from 'express';
import { createProvider, mountPathOf } from './provider.js';
import { interactionRoutes } from './interactions.js';
import { DEMO_USERS, UserDirectory, type DemoUser } from './users.js';

export { DEMO_USERS, type DemoUser } from './users.js';

export interface SandboxIdpOptions {
  /** Absolute, including the mount path, e.g. http://localhost:3000/sandbox/idp. */
  issuer: string;
  clients: Array<{ client_id: string; client_secret: string; redirect_uris: string[] }>;
  /** Secrets for oidc-provider's signed cookies (first signs, all verify). */
  cookieKeys: string[];
  /** Extra users for tests, beside DEMO_USERS. */
  extraUsers?: DemoUser[];
  /**
   * Believe X-Forwarded-Proto/Host for the provider's own URLs and Secure
   * cookies. Default: true when the issuer is https (a TLS-terminating proxy
   * in front), false for a plain-http issuer (localhost), so that a client
   * cannot spoof those headers there.
   */
  trustProxy?: boolean;
}

export interface SandboxIdp {
  router: Router;
  /** Change/add a user at runtime (tests: unverified email, etc.). */
  upsertUser(user: DemoUser & { emailVerified?: boolean }): void;
}

export async function createSandboxIdp(opts: SandboxIdpOptions): Promise<SandboxIdp> {
  const issuer = new URL(opts.issuer);
  if (issuer.search || issuer.hash) throw new Error('sandbox IdP issuer must not carry a query or fragment');
  if (opts.cookieKeys.length === 0) throw new Error('sandbox IdP needs at least one cookie key');

  const users = new UserDirectory([...DEMO_USERS, ...(opts.extraUsers ?? [])]);
  const provider = createProvider(
    {
      issuer: opts.issuer,
      clients: opts.clients,
      cookieKeys: opts.cookieKeys,
      trustProxy: opts.trustProxy ?? issuer.protocol === 'https:',
    },
    users,
  );

  const router = express.Router();
  // Only the sign-in page's own routes parse form bodies; oidc-provider reads its bodies itself.
  router.use(interactionRoutes(provider, users, mountPathOf(opts.issuer), DEMO_USERS));
  const handleProtocol = provider.callback();
  router.use((req, res) => {
    void handleProtocol(req, res);
  });

  return { router, upsertUser: (user) => users.upsert(user) };
}
