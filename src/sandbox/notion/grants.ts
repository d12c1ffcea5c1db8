/**
 * OAuth rules of the emulated Notion: clients, bots, codes and tokens.
 *
 * - A public integration's bot is one per (client, person, workspace) and keeps
 *   its id across re-authorisations (Notion: `bot_id` "should act as your primary key").
 * - Codes are single use, bound to client and redirect_uri, and live 10 minutes.
 * - Refresh tokens rotate (developers.notion.com/reference/refresh-a-token): each
 *   refresh answers a new pair and the old refresh token is gone (invalid_grant).
 * - Revoking either token of a pair revokes both.
 * Tokens, codes and client secrets are kept as SHA-256 hashes only.
 */
import { randomBytes } from 'node:crypto';
import type { OauthIntrospectResponse, OauthTokenResponse } from '@notionhq/client';
import type { SandboxCapability } from './capabilities.js';
import { invalidClient, invalidGrant, invalidOAuthRequest, unauthorized } from './errors.js';
import { newId } from './ids.js';
import { hashSecret } from './seed.js';
import type { IntegrationRecord, OAuthClientRecord, SandboxState, TokenRecord } from './state.js';

export const CODE_LIFETIME_MS = 10 * 60 * 1000;

export function opaqueToken(prefix: 'ntn' | 'nrt' | 'ncode' | 'nsid' | 'nform'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function authenticateClient(state: SandboxState, clientId: string, clientSecret: string): OAuthClientRecord {
  const client = state.oauthClients[clientId];
  if (!client || client.clientSecretHash !== hashSecret(clientSecret)) throw invalidClient();
  return client;
}

export function workspaceOf(state: SandboxState, workspaceId: string) {
  const workspace = state.workspaces.find((w) => w.id === workspaceId);
  if (!workspace) throw new Error(`unknown workspace ${workspaceId}`);
  return workspace;
}

/** The bot for (client, person, workspace): created on first authorisation, its picks replaced on the next. */
export function upsertPublicIntegration(
  state: SandboxState,
  args: { client: OAuthClientRecord; personId: string; workspaceId: string; pageIds: string[]; now: Date },
): IntegrationRecord {
  const existing = Object.values(state.integrations).find(
    (i) => i.kind === 'public' && i.clientId === args.client.clientId && i.personId === args.personId && i.workspaceId === args.workspaceId,
  );
  if (existing) {
    existing.reach = [...args.pageIds];
    existing.capabilities = [...args.client.capabilities];
    existing.name = args.client.name;
    return existing;
  }
  const integration: IntegrationRecord = {
    botId: newId(),
    kind: 'public',
    clientId: args.client.clientId,
    name: args.client.name,
    personId: args.personId,
    workspaceId: args.workspaceId,
    capabilities: [...args.client.capabilities],
    reach: [...args.pageIds],
    createdTime: args.now.toISOString(),
  };
  state.integrations[integration.botId] = integration;
  return integration;
}

export function createInternalIntegration(
  state: SandboxState,
  args: { workspaceId: string; name: string; capabilities: SandboxCapability[]; pageIds: string[]; now: Date },
): { token: string; botId: string } {
  const integration: IntegrationRecord = {
    botId: newId(),
    kind: 'internal',
    clientId: null,
    name: args.name,
    personId: null,
    workspaceId: args.workspaceId,
    capabilities: [...args.capabilities],
    reach: [...args.pageIds],
    createdTime: args.now.toISOString(),
  };
  state.integrations[integration.botId] = integration;
  const token = opaqueToken('ntn');
  state.tokens[hashSecret(token)] = {
    kind: 'internal',
    botId: integration.botId,
    pairId: newId(),
    issuedAt: args.now.toISOString(),
    expiresAt: null,
  };
  return { token, botId: integration.botId };
}

export function issueTokenPair(
  state: SandboxState,
  integration: IntegrationRecord,
  now: Date,
  accessLifetimeSeconds: number,
): { accessToken: string; refreshToken: string } {
  const accessToken = opaqueToken('ntn');
  const refreshToken = opaqueToken('nrt');
  const pairId = newId();
  const issuedAt = now.toISOString();
  state.tokens[hashSecret(accessToken)] = {
    kind: 'access',
    botId: integration.botId,
    pairId,
    issuedAt,
    expiresAt: new Date(now.getTime() + accessLifetimeSeconds * 1000).toISOString(),
  };
  // Refresh tokens have no lifetime of their own in Notion's documentation; rotation bounds them.
  state.tokens[hashSecret(refreshToken)] = { kind: 'refresh', botId: integration.botId, pairId, issuedAt, expiresAt: null };
  return { accessToken, refreshToken };
}

export function tokenResponse(
  state: SandboxState,
  integration: IntegrationRecord,
  pair: { accessToken: string; refreshToken: string },
  requestId: string,
): OauthTokenResponse {
  const workspace = workspaceOf(state, integration.workspaceId);
  const person = state.persons.find((p) => p.id === integration.personId);
  if (!person) throw new Error(`bot ${integration.botId} has no person`);
  return {
    access_token: pair.accessToken,
    token_type: 'bearer',
    refresh_token: pair.refreshToken,
    bot_id: integration.botId,
    workspace_id: workspace.id,
    workspace_name: workspace.name,
    workspace_icon: workspace.icon,
    owner: {
      type: 'user',
      user: {
        object: 'user',
        id: person.id,
        name: person.name,
        avatar_url: person.avatarUrl,
        type: 'person',
        person: { email: person.email },
      },
    },
    duplicated_template_id: null,
    request_id: requestId,
  };
}

export function issueCode(
  state: SandboxState,
  args: { clientId: string; redirectUri: string | null; personId: string; workspaceId: string; pageIds: string[]; now: Date },
): string {
  const code = opaqueToken('ncode');
  state.codes[hashSecret(code)] = {
    clientId: args.clientId,
    redirectUri: args.redirectUri,
    personId: args.personId,
    workspaceId: args.workspaceId,
    pageIds: [...args.pageIds],
    expiresAt: new Date(args.now.getTime() + CODE_LIFETIME_MS).toISOString(),
  };
  return code;
}

/** RFC 6749 §4.1.3 checks, in its order: the code exists, was issued to this client, is unexpired, and redirect_uri matches. */
export function redeemCode(
  state: SandboxState,
  client: OAuthClientRecord,
  code: string,
  redirectUri: string | undefined,
  now: Date,
): IntegrationRecord {
  const key = hashSecret(code);
  const record = state.codes[key];
  if (!record) throw invalidGrant('Invalid code.');
  // Single use: the code is gone whatever the outcome of the remaining checks.
  delete state.codes[key];
  if (record.clientId !== client.clientId) throw invalidGrant('Invalid code.');
  if (Date.parse(record.expiresAt) <= now.getTime()) throw invalidGrant('Invalid code: this code has expired.');
  // Notion: redirect_uri is required when it was on the authorize URL (or several are registered).
  if (record.redirectUri !== null) {
    if (redirectUri === undefined) throw invalidOAuthRequest('redirect_uri is required.');
    if (redirectUri !== record.redirectUri) throw invalidGrant('Invalid redirect_uri.');
  } else if (redirectUri !== undefined && !(client.redirectUris.length === 1 && client.redirectUris[0] === redirectUri)) {
    throw invalidGrant('Invalid redirect_uri.');
  }
  const workspace = workspaceOf(state, record.workspaceId);
  if (!workspace.memberIds.includes(record.personId)) throw invalidGrant('Invalid code: the user is no longer a member of the workspace.');
  return upsertPublicIntegration(state, {
    client,
    personId: record.personId,
    workspaceId: record.workspaceId,
    pageIds: record.pageIds,
    now,
  });
}

/** Refresh: the presented refresh token is consumed and a new pair issued. */
export function rotateRefreshToken(
  state: SandboxState,
  client: OAuthClientRecord,
  refreshToken: string,
  now: Date,
  accessLifetimeSeconds: number,
): { integration: IntegrationRecord; pair: { accessToken: string; refreshToken: string } } {
  const key = hashSecret(refreshToken);
  const record = state.tokens[key];
  if (!record || record.kind !== 'refresh') throw invalidGrant('Invalid refresh token.');
  const integration = state.integrations[record.botId];
  if (!integration || integration.clientId !== client.clientId) throw invalidGrant('Invalid refresh token.');
  delete state.tokens[key];
  const workspace = workspaceOf(state, integration.workspaceId);
  if (integration.personId === null || !workspace.memberIds.includes(integration.personId))
    throw invalidGrant('Token has been expired or revoked.');
  return { integration, pair: issueTokenPair(state, integration, now, accessLifetimeSeconds) };
}

function findClientToken(state: SandboxState, client: OAuthClientRecord, token: string): [string, TokenRecord] | null {
  const key = hashSecret(token);
  const record = state.tokens[key];
  if (!record) return null;
  const integration = state.integrations[record.botId];
  if (!integration || integration.clientId !== client.clientId) return null;
  return [key, record];
}

/** RFC 7009 §2.2: an unknown or foreign token is not an error; the answer is the same. */
export function revokeToken(state: SandboxState, client: OAuthClientRecord, token: string): void {
  const found = findClientToken(state, client, token);
  if (!found) return;
  const pairId = found[1].pairId;
  for (const [key, record] of Object.entries(state.tokens)) if (record.pairId === pairId) delete state.tokens[key];
}

export function introspectToken(
  state: SandboxState,
  client: OAuthClientRecord,
  token: string,
  now: Date,
  requestId: string,
): OauthIntrospectResponse {
  const found = findClientToken(state, client, token);
  if (!found || !isLive(found[1], now)) return { active: false, request_id: requestId };
  const integration = state.integrations[found[1].botId];
  return {
    active: true,
    scope: integration.capabilities.join(' '),
    iat: Math.floor(Date.parse(found[1].issuedAt) / 1000),
    request_id: requestId,
  };
}

function isLive(record: TokenRecord, now: Date): boolean {
  return record.expiresAt === null || Date.parse(record.expiresAt) > now.getTime();
}

/** The bot behind an API call's bearer token; anything wrong answers 401 "API token is invalid.". */
export function authenticateBearer(state: SandboxState, token: string, now: Date): IntegrationRecord {
  const record = state.tokens[hashSecret(token)];
  if (!record || record.kind === 'refresh' || !isLive(record, now)) throw unauthorized();
  const integration = state.integrations[record.botId];
  if (!integration) throw unauthorized();
  if (integration.personId !== null) {
    const workspace = state.workspaces.find((w) => w.id === integration.workspaceId);
    if (!workspace?.memberIds.includes(integration.personId)) throw unauthorized();
  }
  return integration;
}

/** A member removed from a workspace: the tokens of their bots there stop working. */
export function revokePersonTokens(state: SandboxState, personId: string, workspaceId: string): void {
  const bots = new Set(
    Object.values(state.integrations)
      .filter((i) => i.personId === personId && i.workspaceId === workspaceId)
      .map((i) => i.botId),
  );
  for (const [key, record] of Object.entries(state.tokens)) if (bots.has(record.botId)) delete state.tokens[key];
}
