/**
 * POST /v1/oauth/token, /introspect, /revoke (Notion's public-integration
 * OAuth; developers.notion.com/reference/create-a-token). Each endpoint is the RFC's list of
 * checks: authenticate the client, validate the request, apply one rule.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { OauthRevokeResponse, OauthTokenResponse } from '@notionhq/client';
import { invalidClient, invalidOAuthRequest, OAuthError, requestId } from './errors.js';
import {
  authenticateClient,
  introspectToken,
  issueTokenPair,
  redeemCode,
  revokeToken,
  rotateRefreshToken,
  tokenResponse,
} from './grants.js';
import type { OAuthClientRecord, StateStore } from './state.js';

export interface OAuthDeps {
  store: StateStore;
  clock: () => Date;
  accessTokenLifetimeSeconds: number;
  countTokenCall: (grantType: 'authorization_code' | 'refresh_token') => void;
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64, so decode them (or take client_secret_post). */
function clientCredentials(req: Request, body: Record<string, unknown>): { clientId: string; clientSecret: string } {
  const header = req.get('Authorization');
  if (header !== undefined) {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    if (!match) throw invalidClient();
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw invalidClient();
    try {
      const plus = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      return { clientId: plus(decoded.slice(0, colon)), clientSecret: plus(decoded.slice(colon + 1)) };
    } catch {
      throw invalidClient();
    }
  }
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string')
    return { clientId: body.client_id, clientSecret: body.client_secret };
  throw invalidClient();
}

function oauthBody(req: Request): Record<string, unknown> {
  const value: unknown = req.body;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidOAuthRequest('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

function stringParam(body: Record<string, unknown>, name: string, required: true): string;
function stringParam(body: Record<string, unknown>, name: string, required: false): string | undefined;
function stringParam(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw invalidOAuthRequest(`${name} is required.`);
    return undefined;
  }
  if (typeof value !== 'string') throw invalidOAuthRequest(`${name} should be a string.`);
  return value;
}

export function oauthRouter(deps: OAuthDeps): Router {
  const router = Router();
  const { state } = deps.store;

  const authenticate = (req: Request, body: Record<string, unknown>): OAuthClientRecord => {
    const { clientId, clientSecret } = clientCredentials(req, body);
    return authenticateClient(state, clientId, clientSecret);
  };

  router.post('/token', (req: Request, res: Response) => {
    const body = oauthBody(req);
    const grantType = body.grant_type;
    if (grantType === 'authorization_code' || grantType === 'refresh_token') deps.countTokenCall(grantType);
    const client = authenticate(req, body);
    const now = deps.clock();
    let answer: OauthTokenResponse;
    try {
      if (grantType === 'authorization_code') {
        const integration = redeemCode(state, client, stringParam(body, 'code', true), stringParam(body, 'redirect_uri', false), now);
        const pair = issueTokenPair(state, integration, now, deps.accessTokenLifetimeSeconds);
        answer = tokenResponse(state, integration, pair, requestId(res));
      } else if (grantType === 'refresh_token') {
        const rotated = rotateRefreshToken(state, client, stringParam(body, 'refresh_token', true), now, deps.accessTokenLifetimeSeconds);
        answer = tokenResponse(state, rotated.integration, rotated.pair, requestId(res));
      } else if (grantType === undefined) {
        throw invalidOAuthRequest('grant_type is required.');
      } else {
        throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant_type: ${String(grantType)}.`);
      }
    } finally {
      // A consumed code or refresh token stays consumed even when the request fails afterwards.
      deps.store.changed();
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json(answer);
  });

  router.post('/introspect', (req, res) => {
    const body = oauthBody(req);
    const client = authenticate(req, body);
    res.setHeader('Cache-Control', 'no-store');
    res.json(introspectToken(state, client, stringParam(body, 'token', true), deps.clock(), requestId(res)));
  });

  router.post('/revoke', (req, res) => {
    const body = oauthBody(req);
    const client = authenticate(req, body);
    revokeToken(state, client, stringParam(body, 'token', true));
    deps.store.changed();
    const answer: OauthRevokeResponse = { request_id: requestId(res) };
    res.json(answer);
  });

  return router;
}
