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
import { redeemAuthorizationCode } from './grants/authorization-code.js';
import type { TokenDeps } from './grants/common.js';
import { refreshAccessToken } from './grants/refresh-token.js';
import { oauthRequest, type OAuthRequest } from './params.js';
import type { TokenAnswer } from './token-answer.js';

export type { TokenDeps } from './grants/common.js';
export { s256 } from './pkce.js';

const GRANTS = {
  authorization_code: redeemAuthorizationCode,
  refresh_token: refreshAccessToken,
} as const;

export async function tokenRequest(deps: TokenDeps, request: OAuthRequest): Promise<TokenAnswer> {
  request.params.rejectDuplicates();
  const app = await authenticateEndpointClient(deps, request, 'token');
  const grantType = request.params.get('grant_type');
  if (grantType === undefined) throw new InvalidRequest('grant_type is required.');
  if (!Object.hasOwn(GRANTS, grantType)) throw new UnsupportedGrantType();
  return GRANTS[grantType as keyof typeof GRANTS](deps, app, request);
}

export function handleTokenRequest(deps: TokenDeps, req: Request): Promise<TokenAnswer> {
  return tokenRequest(deps, oauthRequest(req));
}
