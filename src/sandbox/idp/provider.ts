/**
 * Configuration of the sandbox OpenID provider: oidc-provider (a certified
 * implementation) restricted to what Gatehouse's sign-in uses. Authorization
 * code flow only, PKCE (S256) always required, confidential clients with
 * client_secret_basic or client_secret_post, scopes `openid email profile`.
 *
 * Its built-in pages are replaced: the sign-in page lives in ./interactions.ts;
 * errors render through Eta with the Gatehouse layout, escaped, with no inline
 * scripts or styles (helmet's strict CSP).
 */
import { generateKeyPairSync } from 'node:crypto';
import Provider, { interactionPolicy } from 'oidc-provider';
import type { Configuration, Grant, JWK, KoaContextWithOIDC } from 'oidc-provider';
import { eta } from '../../http/views.js';
import type { UserDirectory } from './users.js';

export interface ProviderSettings {
  issuer: string;
  clients: Array<{ client_id: string; client_secret: string; redirect_uris: string[] }>;
  cookieKeys: string[];
  /** Read X-Forwarded-Proto/Host (Koa's `proxy`). */
  trustProxy: boolean;
}

const SCOPE = 'openid email profile';

/** The issuer's path (no trailing slash): where the app mounts the router, and the prefix of the interaction URLs. */
export function mountPathOf(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, '');
}

/** A fresh RS256 signing key per start (RS256 is every relying party's default), held in memory only. */
function generateSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), use: 'sig', alg: 'RS256' };
}

/**
 * Every configured client is first-party (Gatehouse itself, test relying
 * parties), so consent is granted without a page: the grant carries the
 * whole sandbox scope. Used by loadExistingGrant and, should a relying party
 * send prompt=consent, by the interaction routes.
 */
export async function firstPartyGrant(provider: Provider, accountId: string, clientId: string, grantId?: string): Promise<Grant> {
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  if (existing && existing.accountId === accountId && existing.clientId === clientId) return existing;
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(SCOPE);
  await grant.save();
  return grant;
}

/**
 * The sandbox keeps no single sign-on: every authorization request asks for
 * the email and password again (unless this request just got them), so that
 * signing out of Gatehouse and in again can switch between demo people.
 */
function signInEveryTime(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  policy
    .get('login')!
    .checks.add(
      new interactionPolicy.Check(
        'sandbox_sign_in_every_time',
        'the sandbox asks for credentials on every authorization request',
        'login_required',
        (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
      ),
    );
  return policy;
}

function renderMessage(ctx: KoaContextWithOIDC, title: string, message: string, code?: string): void {
  ctx.type = 'html';
  ctx.body = eta.render('sandbox/idp-message', { title, message, code, sandbox: true, person: null });
}

export function createProvider(settings: ProviderSettings, users: UserDirectory): Provider {
  const mountPath = mountPathOf(settings.issuer);

  const configuration: Configuration = {
    clients: settings.clients.map(({ client_id, client_secret, redirect_uris }) => ({
      client_id,
      client_secret,
      redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: SCOPE.split(' '),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // OIDC Core §5.4 puts scope-requested claims in userinfo only; Gatehouse reads them from the ID token.
    conformIdTokenClaims: false,
    jwks: { keys: [generateSigningKey()] },
    cookies: {
      keys: settings.cookieKeys,
      // Distinct names: the sandbox shares an origin with Gatehouse's own cookies.
      names: { session: 'sandbox_idp_session', interaction: 'sandbox_idp_interaction', resume: 'sandbox_idp_resume' },
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: {
      devInteractions: { enabled: false },
      // Off: the sandbox keeps no single sign-on to end (every sign-in asks again), and
      // oidc-provider's logout without a session answers with an auto-submitting inline script.
      rpInitiatedLogout: { enabled: false },
    },
    interactions: {
      policy: signInEveryTime(),
      url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`,
    },
    async loadExistingGrant(ctx) {
      const { session, client, result } = ctx.oidc;
      if (!session?.accountId || !client) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      return firstPartyGrant(ctx.oidc.provider, session.accountId, client.clientId, grantId);
    },
    async findAccount(_ctx, sub) {
      const user = users.findBySubject(sub);
      if (!user) return undefined;
      return {
        accountId: user.subject,
        claims: () => ({ sub: user.subject, email: user.email, email_verified: user.emailVerified, name: user.name }),
      };
    },
    renderError(ctx, out) {
      renderMessage(ctx, 'Sign-in error', out.error_description ?? 'The request could not be completed.', out.error);
    },
  };

  const provider = new Provider(settings.issuer, configuration);
  provider.proxy = settings.trustProxy;
  return provider;
}
