/**
 * Client authentication at the token, introspection and revocation
 * endpoints (RFC 6749 §2.3): HTTP Basic with id and secret form-urlencoded
 * before base64 (§2.3.1, App. B: openid-client percent-encodes, so "-" may
 * arrive as "%2D"), or client_secret_post, or none for public clients (PKCE
 * protects their codes). One method per request.
 */
import { constantTimeEqual, hashToken } from '../crypto/tokens.js';
import type { AuditStore } from '../store/audit.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import type { Clock } from '../clock.js';
import { InvalidClient, InvalidRequest, RateLimited } from './errors.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { OAuthParams, OAuthRequest } from './params.js';

interface PresentedCredentials {
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
  clientId: string;
  clientSecret: string | null;
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

export function readClientCredentials(header: string | undefined, params: OAuthParams): PresentedCredentials {
  const bodySecret = params.get('client_secret');
  const bodyId = params.get('client_id');
  if (header !== undefined) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!match) throw new InvalidClient('The Authorization header is not valid HTTP Basic.');
    if (bodySecret !== undefined)
      throw new InvalidRequest('Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidClient('The Authorization header is not valid HTTP Basic.');
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = formDecode(decoded.slice(0, colon));
      clientSecret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new InvalidClient('The Authorization header is not valid HTTP Basic.');
    }
    if (clientId.includes('\u0000') || clientSecret.includes('\u0000'))
      throw new InvalidClient('The Authorization header is not valid HTTP Basic.');
    if (bodyId !== undefined && bodyId !== clientId)
      throw new InvalidRequest('client_id in the body does not match the Authorization header.');
    return { method: 'client_secret_basic', clientId, clientSecret: clientSecret === '' ? null : clientSecret };
  }
  if (bodyId === undefined) throw new InvalidClient('Client authentication is required.');
  return { method: bodySecret === undefined ? 'none' : 'client_secret_post', clientId: bodyId, clientSecret: bodySecret ?? null };
}

export interface ClientAuthDeps {
  partnerApps: PartnerAppStore;
  limiter: FailureLimiter;
  /** Failures allowed per (client, address) in the limiter's window; an address alone gets five times as many. */
  failureLimit: number;
  onFailure: (clientId: string, reason: string) => Promise<void>;
  /** Reads the client's row; defaults to partnerApps.findByClientId (introspection reads it with the token). */
  findApp?: (clientId: string) => Promise<PartnerApp | null>;
}

export async function authenticateClient(deps: ClientAuthDeps, request: OAuthRequest): Promise<PartnerApp> {
  const address = request.address ?? 'unknown';
  const presented = readClientCredentials(request.authorization, request.params);
  const clientKey = presented.clientId.slice(0, 200);
  // Both counters carry the address as their Redis Cluster hash tag, so one script call checks both (./failure-limiter.ts).
  const tag = `{${address.replace(/[{}]/g, '')}}`;
  const keys = [
    { key: `client:${clientKey}:${tag}`, limit: deps.failureLimit },
    { key: `address:${tag}`, limit: deps.failureLimit * 5 },
  ];
  // The limiter's answer and the app's row are fetched at once (one wait instead of two); the limiter still decides
  // before any credential is compared.
  const [wait, app] = await Promise.all([
    deps.limiter.blockedFor(keys),
    presented.clientId.length <= 200 ? (deps.findApp ?? deps.partnerApps.findByClientId)(presented.clientId) : null,
  ]);
  if (wait !== null) throw new RateLimited(wait);
  const fail = async (reason: string): Promise<never> => {
    await deps.limiter.recordFailure(keys);
    await deps.onFailure(clientKey, reason);
    throw new InvalidClient('Client authentication failed.', reason);
  };
  if (!app || app.integrationKind !== 'public') return fail('unknown client');
  if (app.clientType === 'confidential') {
    if (presented.clientSecret === null || app.clientSecretHash === null) return fail('missing client secret');
    if (!constantTimeEqual(hashToken(presented.clientSecret), app.clientSecretHash)) return fail('wrong client secret');
  } else if (presented.clientSecret !== null) {
    return fail('a public client has no secret');
  }
  return app;
}

/** Client authentication as every client-authenticated endpoint does it: limited, and each failure audited. */
export function authenticateEndpointClient(
  deps: { partnerApps: PartnerAppStore; limiter: FailureLimiter; clientAuthFailureLimit: number; audit: AuditStore; clock: Clock },
  request: OAuthRequest,
  endpoint: 'token' | 'introspect' | 'revoke',
  findApp?: ClientAuthDeps['findApp'],
): Promise<PartnerApp> {
  return authenticateClient(
    {
      partnerApps: deps.partnerApps,
      ...(findApp ? { findApp } : {}),
      limiter: deps.limiter,
      failureLimit: deps.clientAuthFailureLimit,
      onFailure: (clientId, reason) =>
        deps.audit.record(
          {
            action: 'client.authentication_failed',
            actor: { type: 'partner', label: clientId },
            address: request.address,
            outcome: 'failure',
            detail: { reason, endpoint },
          },
          deps.clock.now(),
        ),
    },
    request,
  );
}
