/**
 * GET /v1/oauth/authorize (RFC 6749 §4.1.1, §4.1.2.1; RFC 7636; RFC 9207),
 * Notion's parameters plus PKCE and scope. Checks in the RFC's order: until
 * the client and redirect URI are trusted, errors are a page and never a
 * redirect (§3.1.2.4); after that, errors go back with error, state and iss.
 */
import type { Request } from 'express';
import type { Clock } from '../clock.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import { requestedCapabilities } from './capabilities.js';
import { ClientDocumentError } from './client-metadata-document.js';
import { OAuthError } from './errors.js';
import { queryParams } from './params.js';
import { requestedResource } from './resource.js';
import { openTransaction, redirectBack, type AuthorizationTransaction } from './transaction.js';

export class AuthorizePageError extends Error {}

export type AuthorizeOutcome =
  | { kind: 'page_error'; message: string }
  | { kind: 'redirect_error'; location: string }
  | { kind: 'consent'; transaction: AuthorizationTransaction };

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

function trustRedirectUri(app: PartnerApp, given: string | undefined): { uri: string; explicit: boolean } | null {
  if (given === undefined) return app.redirectUris.length === 1 ? { uri: app.redirectUris[0]!, explicit: false } : null;
  // Exact string comparison, port included (RFC 9700 §4.1.3).
  return app.redirectUris.includes(given) ? { uri: given, explicit: true } : null;
}

export async function handleAuthorize(
  deps: { partnerApps: PartnerAppStore; clock: Clock; issuer: string },
  req: Request,
): Promise<AuthorizeOutcome> {
  const params = queryParams(req);
  try {
    params.rejectDuplicates(['client_id', 'redirect_uri']);
  } catch {
    return {
      kind: 'page_error',
      message: 'The request repeats client_id or redirect_uri, so Gatehouse cannot tell where to send you back.',
    };
  }
  const clientId = params.get('client_id');
  let app: PartnerApp | null;
  try {
    app = clientId && clientId.length <= 200 ? await deps.partnerApps.findByClientId(clientId) : null;
  } catch (err) {
    // A Client ID Metadata Document that was refused: the page says why (src/oauth/client-metadata-document.ts).
    if (err instanceof ClientDocumentError) return { kind: 'page_error', message: err.message };
    throw err;
  }
  if (!app || app.integrationKind !== 'public') return { kind: 'page_error', message: 'This app is not registered with Gatehouse.' };
  const redirect = trustRedirectUri(app, params.get('redirect_uri'));
  if (!redirect)
    return { kind: 'page_error', message: 'The redirect URI is not one registered for this app, so Gatehouse will not send you there.' };

  // From here the redirect URI is trusted: errors go back to it.
  let state: string | null = null;
  const back = (error: string, description: string): AuthorizeOutcome => ({
    kind: 'redirect_error',
    location: redirectBack({ redirectUri: redirect.uri, state }, deps.issuer, { error, error_description: description }),
  });
  try {
    const rawState = req.query.state;
    state = typeof rawState === 'string' && rawState !== '' ? rawState : null;
    params.rejectDuplicates();
  } catch (err) {
    if (err instanceof OAuthError) return back('invalid_request', err.message);
    throw err;
  }
  if (state !== null && state.length > 2048) return back('invalid_request', 'state is too long.');
  const responseType = params.get('response_type');
  if (responseType === undefined) return back('invalid_request', 'response_type is required.');
  if (responseType !== 'code') return back('unsupported_response_type', 'Only response_type=code is supported.');
  const owner = params.get('owner');
  if (owner !== undefined && owner !== 'user') return back('invalid_request', 'owner must be "user".');

  const challenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (method !== undefined && method !== 'S256') return back('invalid_request', 'code_challenge_method must be S256.');
  if (challenge !== undefined && method === undefined)
    return back('invalid_request', 'code_challenge_method is required with code_challenge (S256).');
  if (method !== undefined && challenge === undefined)
    return back('invalid_request', 'code_challenge is required with code_challenge_method.');
  if (challenge !== undefined && !CHALLENGE.test(challenge))
    return back('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters).');
  if (app.clientType === 'public' && challenge === undefined)
    return back('invalid_request', 'PKCE (code_challenge with S256) is required for this client.');

  const scope = requestedCapabilities(app.capabilities, params.get('scope'));
  if (!scope.ok) return back('invalid_scope', scope.reason);
  let resource: string | null;
  try {
    resource = requestedResource(deps.issuer, params.get('resource'));
  } catch (err) {
    if (err instanceof OAuthError) return back(err.code, err.message);
    throw err;
  }

  const transaction = openTransaction(
    req,
    {
      appId: app.id,
      clientId: app.clientId!,
      redirectUri: redirect.uri,
      redirectUriExplicit: redirect.explicit,
      state,
      codeChallenge: challenge ?? null,
      capabilities: scope.capabilities,
      resource,
    },
    deps.clock.now(),
  );
  return { kind: 'consent', transaction };
}
