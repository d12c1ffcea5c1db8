/**
 * grant_type=refresh_token (RFC 6749 §6; RFC 9700 §4.14.2): the checks,
 * each a small named step, then one unit of work.
 *
 *   refresh token of this client ─▶ within its absolute lifetime ─▶ grant active
 *     ─▶ scope within the grant ─▶ rotateRefreshToken (one transaction):
 *           live: spend it, store the successor pair
 *           spent < refreshReuseGraceSeconds ago, its pair never used: the answer was lost; replace that pair
 *           otherwise: reuse, the family revoked
 *
 * Nothing is spent before every check passed.
 */
import { hashToken } from '../../crypto/tokens.js';
import type { Grant } from '../../store/grants.js';
import type { PartnerApp } from '../../store/partner-apps.js';
import type { RefreshContext } from '../../store/token-queries.js';
import type { RotateOutcome } from '../../store/token-units.js';
import type { RefreshTokenRow } from '../../store/tokens.js';
import { effectiveCapabilities, requestedCapabilities, type Capability } from '../capabilities.js';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import type { OAuthRequest } from '../params.js';
import { requireSameResource } from '../resource.js';
import type { TokenAnswer } from '../token-answer.js';
import { answerFor, newPair, partnerEvent, REFRESH_REFUSED, requireActiveGrant, revokedDetail, type TokenDeps } from './common.js';

// ── the steps ──────────────────────────────────────────────────────────────

/** RFC 6749 §6, §10.4: a refresh token is bound to its client; another client's attempt revokes nothing. */
export function requireRefreshTokenOfClient(found: RefreshTokenRow | null, app: PartnerApp): RefreshTokenRow {
  if (!found || found.appId !== app.id) throw new InvalidGrant(REFRESH_REFUSED);
  return found;
}

/** RFC 9700 §4.14.2: rotation never extends a family past its absolute lifetime (config refreshTokenLifetimeDays). */
export function requireWithinAbsoluteLifetime(token: RefreshTokenRow, now: Date): void {
  if (token.absoluteExpiresAt.getTime() <= now.getTime()) throw new InvalidGrant(REFRESH_REFUSED, 'absolute lifetime');
}

/** RFC 6749 §6: a scope on refresh may narrow what is issued, never widen it; the grant's current capabilities narrow the token's. */
export function requireScopeWithinGrant(token: RefreshTokenRow, grant: Grant, scope: string | undefined): string[] {
  const capabilities = effectiveCapabilities(token.capabilities, grant.capabilities);
  if (scope === undefined) return capabilities;
  const asked = requestedCapabilities(capabilities as Capability[], scope);
  if (!asked.ok) throw new InvalidScope(asked.reason);
  return asked.capabilities;
}

function rotationEvent(request: OAuthRequest, app: PartnerApp, grant: Grant) {
  return (result: RotateOutcome) => {
    if (result.kind === 'rotated') return partnerEvent(request.address, 'token.refreshed', 'success', app, grant);
    if (result.kind === 'replaced')
      return partnerEvent(request.address, 'token.refreshed', 'success', app, grant, {
        lostAnswerReplaced: true,
        ...revokedDetail(result.revoked),
      });
    return partnerEvent(request.address, 'refresh.reused', 'failure', app, grant, revokedDetail(result.revoked));
  };
}

// ── the grant ──────────────────────────────────────────────────────────────

/** The token, its grant and what the answer shows, in one round trip (null without a token); read while the client is authenticated. */
export function readRefreshToken(deps: Pick<TokenDeps, 'tokens'>, request: OAuthRequest): Promise<RefreshContext | null> | null {
  const presented = request.params.get('refresh_token');
  return presented === undefined ? null : deps.tokens.findRefreshContext(hashToken(presented));
}

export async function refreshAccessToken(
  deps: TokenDeps,
  app: PartnerApp,
  request: OAuthRequest,
  read = readRefreshToken(deps, request),
): Promise<TokenAnswer> {
  if (read === null) throw new InvalidRequest('refresh_token is required.');
  // The checks still run one by one, in order, on what was read.
  const context = await read;
  const token = requireRefreshTokenOfClient(context?.token ?? null, app);
  const now = deps.clock.now();
  requireWithinAbsoluteLifetime(token, now);
  const grant = requireActiveGrant(context!.grant);
  const capabilities = requireScopeWithinGrant(token, grant, request.params.get('scope'));
  const resource = requireSameResource(token.resource, deps.issuer, request.params.get('resource'));

  const { pair, tokens } = newPair(deps, {
    app,
    grant,
    capabilities,
    familyId: token.familyId,
    absoluteExpiresAt: token.absoluteExpiresAt,
    resource,
  });
  const answer = answerFor(deps, grant, capabilities, tokens, context!);
  const outcome = await deps.tokens.rotateRefreshToken({
    tokenHash: token.tokenHash,
    pair,
    now,
    graceMs: deps.refreshReuseGraceSeconds * 1000,
    audit: rotationEvent(request, app, grant),
  });
  if (outcome.kind === 'reused') throw new InvalidGrant(REFRESH_REFUSED);
  return answer;
}
