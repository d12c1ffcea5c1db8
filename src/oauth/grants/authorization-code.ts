/**
 * grant_type=authorization_code (RFC 6749 §4.1.3; RFC 7636 §4.6): the
 * checks in the RFC's order, each a small named step, then one unit of work.
 *
 *   code of this client ─▶ not spent (else: a replay) ─▶ unexpired ─▶ same redirect URI
 *     ─▶ PKCE ─▶ grant active ─▶ install policy ─▶ redeemCode (spend, store the pair, audit: one transaction)
 *
 * Every check runs before the code is spent, so a stolen code posted with a
 * wrong verifier or redirect URI does not burn it for its client; a refusal
 * writes nothing but its audit event.
 */
import { randomUUID } from 'node:crypto';
import { hashToken } from '../../crypto/tokens.js';
import type { Grant } from '../../store/grants.js';
import type { PartnerApp } from '../../store/partner-apps.js';
import type { CodeContext } from '../../store/token-queries.js';
import type { AuthorizationCodeRow } from '../../store/tokens.js';
import { effectiveCapabilities } from '../capabilities.js';
import { InvalidGrant, InvalidRequest } from '../errors.js';
import { installPolicyDecision } from '../grant-rules.js';
import type { OAuthRequest } from '../params.js';
import { requirePkce } from '../pkce.js';
import { requireSameResource } from '../resource.js';
import type { TokenAnswer } from '../token-answer.js';
import { answerFor, CODE_REFUSED, newPair, partnerEvent, requireActiveGrant, revokedDetail, type TokenDeps } from './common.js';

// ── the steps ──────────────────────────────────────────────────────────────

/** RFC 6749 §4.1.3: the code was issued to this client; another client's attempt neither spends it nor revokes anything. */
export async function requireCodeOfClient(
  deps: Pick<TokenDeps, 'audit' | 'clock'>,
  request: OAuthRequest,
  app: PartnerApp,
  found: AuthorizationCodeRow | null,
): Promise<AuthorizationCodeRow> {
  if (found && found.appId === app.id) return found;
  await deps.audit.record(
    partnerEvent(request.address, 'code.redeem_failed', 'failure', app, null, { reason: found ? 'other client' : 'unknown code' }),
    deps.clock.now(),
  );
  throw new InvalidGrant(CODE_REFUSED);
}

/**
 * RFC 6749 §4.1.2: a code used twice MUST be refused and SHOULD revoke the
 * tokens issued from it; the revocation and its audit event (counting what
 * it really revoked) are one unit of work.
 */
export async function refuseReplayedCode(
  deps: Pick<TokenDeps, 'tokens' | 'clock'>,
  request: OAuthRequest,
  app: PartnerApp,
  code: AuthorizationCodeRow,
  grant: Grant | null,
): Promise<never> {
  await deps.tokens.revokeReplayedCode(code.codeHash, deps.clock.now(), replayedEvent(request, app, code, grant));
  throw new InvalidGrant(CODE_REFUSED);
}

function replayedEvent(request: OAuthRequest, app: PartnerApp, code: AuthorizationCodeRow, grant: Grant | null) {
  const target = { id: code.grantId, workspaceId: grant?.workspaceId ?? '' };
  return (revoked: Parameters<typeof revokedDetail>[0]) =>
    partnerEvent(request.address, 'code.replayed', 'failure', app, target, revokedDetail(revoked));
}

/** RFC 6749 §4.1.2: codes are short-lived (config authorizationCodeLifetimeSeconds). */
export function requireUnexpired(code: AuthorizationCodeRow, now: Date): void {
  if (code.expiresAt.getTime() <= now.getTime()) throw new InvalidGrant(CODE_REFUSED, 'expired');
}

/** RFC 6749 §4.1.3: redirect_uri repeats the authorisation request's, when that request named one. */
export function requireSameRedirectUri(code: AuthorizationCodeRow, redirectUri: string | undefined): void {
  if (code.redirectUriExplicit && redirectUri === undefined)
    throw new InvalidGrant('redirect_uri must repeat the one of the authorisation request.');
  if (redirectUri !== undefined && redirectUri !== code.redirectUri)
    throw new InvalidGrant('redirect_uri does not match the authorisation request.');
}

/** A policy change between consent and redemption wins ("Only from approved list"). */
export async function requireInstallAllowed(
  deps: Pick<TokenDeps, 'audit' | 'clock'>,
  request: OAuthRequest,
  app: PartnerApp,
  grant: Grant,
  facts: Pick<CodeContext, 'workspace' | 'membership' | 'approved'>,
): Promise<void> {
  const decision = installPolicyDecision({ ...facts, app });
  if (decision !== 'ask approval' && decision.allowed) return;
  await deps.audit.record(
    partnerEvent(request.address, 'code.redeem_failed', 'failure', app, grant, { reason: 'install policy' }),
    deps.clock.now(),
  );
  throw new InvalidGrant("The workspace's install policy no longer allows this connection.");
}

// ── the grant ──────────────────────────────────────────────────────────────

/** Every fact the checks read, in one round trip (null without a code); ./token.ts starts it while the client is authenticated. */
export function readCode(deps: Pick<TokenDeps, 'tokens'>, request: OAuthRequest): Promise<CodeContext | null> | null {
  const presented = request.params.get('code');
  return presented === undefined ? null : deps.tokens.findCodeContext(hashToken(presented));
}

export async function redeemAuthorizationCode(
  deps: TokenDeps,
  app: PartnerApp,
  request: OAuthRequest,
  read = readCode(deps, request),
): Promise<TokenAnswer> {
  if (read === null) throw new InvalidRequest('code is required.');
  // The checks still run one by one, in order, on what was read.
  const context = await read;
  const code = await requireCodeOfClient(deps, request, app, context?.code ?? null);
  const grant = context!.grant;
  if (code.consumedAt !== null) return refuseReplayedCode(deps, request, app, code, grant);
  const now = deps.clock.now();
  requireUnexpired(code, now);
  requireSameRedirectUri(code, request.params.get('redirect_uri'));
  requirePkce(code.codeChallenge, request.params.get('code_verifier'));
  const resource = requireSameResource(code.resource ?? null, deps.issuer, request.params.get('resource'));
  const active = requireActiveGrant(grant);
  await requireInstallAllowed(deps, request, app, active, context!);

  const capabilities = effectiveCapabilities(code.capabilities, active.capabilities);
  const { pair, tokens } = newPair(deps, {
    app,
    grant: active,
    capabilities,
    familyId: randomUUID(),
    absoluteExpiresAt: new Date(now.getTime() + deps.refreshTokenLifetimeDays * 86_400_000),
    resource,
  });
  const answer = answerFor(deps, active, capabilities, tokens, context!);
  const outcome = await deps.tokens.redeemCode({
    codeHash: code.codeHash,
    pair,
    now,
    issued: [
      partnerEvent(request.address, 'code.redeemed', 'success', app, active),
      partnerEvent(request.address, 'token.issued', 'success', app, active, { grantType: 'authorization_code' }),
    ],
    // Spent meanwhile by a concurrent redemption: this one is the replay.
    replayed: replayedEvent(request, app, code, grant),
  });
  if (outcome.kind === 'replayed') throw new InvalidGrant(CODE_REFUSED);
  return answer;
}
