/**
 * POST /v1/oauth/token (RFC 6749 §3.2, §4.1.3, §6), in the order the RFC
 * gives the checks: no repeated parameter, the client authenticated
 * (./client-auth.ts), then the grant, one module each:
 *
 *   authorization_code ─▶ ./grants/authorization-code.ts
 *   refresh_token      ─▶ ./grants/refresh-token.ts
 *   anything else      ─▶ unsupported_grant_type
 */
import type { Request } from 'express';
import { authenticateEndpointClient } from './client-auth.js';
import { InvalidRequest, UnsupportedGrantType } from './errors.js';
import { readCode, redeemAuthorizationCode } from './grants/authorization-code.js';
import type { TokenDeps } from './grants/common.js';
import { readRefreshToken, refreshAccessToken } from './grants/refresh-token.js';
import { oauthRequest, type OAuthRequest } from './params.js';
import type { TokenAnswer } from './token-answer.js';
import type { PartnerApp } from '../store/partner-apps.js';

export type { TokenDeps } from './grants/common.js';
export { s256 } from './pkce.js';

/** Each grant: what it reads of the store, started while the client is authenticated, and its steps on what was read. */
const GRANTS = {
  authorization_code: (deps: TokenDeps, request: OAuthRequest) => {
    const read = readCode(deps, request);
    return { read, run: (app: PartnerApp) => redeemAuthorizationCode(deps, app, request, read) };
  },
  refresh_token: (deps: TokenDeps, request: OAuthRequest) => {
    const read = readRefreshToken(deps, request);
    return { read, run: (app: PartnerApp) => refreshAccessToken(deps, app, request, read) };
  },
} as const;

export async function tokenRequest(deps: TokenDeps, request: OAuthRequest): Promise<TokenAnswer> {
  request.params.rejectDuplicates();
  const grantType = request.params.get('grant_type');
  // One wait instead of two: the grant's row is read beside the client's. Nothing of it is used, or answered,
  // before the client is authenticated (and the limiter has decided); a refused client leaves the read unheard.
  const grant =
    grantType !== undefined && Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType as keyof typeof GRANTS](deps, request) : null;
  grant?.read?.catch(() => undefined);
  const app = await authenticateEndpointClient(deps, request, 'token');
  if (grantType === undefined) throw new InvalidRequest('grant_type is required.');
  if (!grant) throw new UnsupportedGrantType();
  return grant.run(app);
}

export function handleTokenRequest(deps: TokenDeps, req: Request): Promise<TokenAnswer> {
  return tokenRequest(deps, oauthRequest(req));
}
