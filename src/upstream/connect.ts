/**
 * Connecting a person's Notion account for a workspace: Notion's
 * public-integration OAuth with Gatehouse as the client, or (owners) a pasted
 * internal integration token. Either way the credential is encrypted before
 * it is stored, and bound to its row (associated data = connection id).
 */
import { APIErrorCode, isNotionClientError, type OauthTokenResponse } from '@notionhq/client';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import { constantTimeEqual } from '../crypto/tokens.js';
import type { AuditStore } from '../store/audit.js';
import type { Person } from '../store/people.js';
import type { UpstreamConnection, UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { Workspace, WorkspaceRole, WorkspaceStore } from '../store/workspaces.js';
import { notionClient, type NotionUpstream, type UpstreamCredential } from './notion.js';

export class ConnectRefused extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ConnectRefused';
  }
}

export interface ConnectDeps {
  upstream: NotionUpstream;
  keyring: Keyring;
  connections: UpstreamConnectionStore;
  workspaces: WorkspaceStore;
  audit: AuditStore;
  clock: Clock;
  /** Ask the page indexer to (re)index a connection; never awaited by a request. */
  requestIndex: (connectionId: string) => void;
}

export interface ConnectResult {
  workspace: Workspace;
  role: WorkspaceRole;
  connection: UpstreamConnection;
  replaced: boolean;
}

const STATE_LIFETIME_MS = 10 * 60_000;

export function encryptCredential(keyring: Keyring, credential: UpstreamCredential, connectionId: string): string {
  return keyring.encrypt(JSON.stringify(credential), `upstream_connection:${connectionId}`);
}

export function decryptCredential(keyring: Keyring, ciphertext: string, connectionId: string): UpstreamCredential {
  return JSON.parse(keyring.decrypt(ciphertext, `upstream_connection:${connectionId}`)) as UpstreamCredential;
}

/** The state sent to Notion must come back, unused and in time (RFC 6749 §10.12). */
export function checkConnectState(expected: { value: string; createdAt: number } | undefined, received: unknown, now: Date): void {
  if (!expected || typeof received !== 'string' || !constantTimeEqual(expected.value, received)) {
    throw new ConnectRefused('This connection attempt was not started here or was already used. Start again from "Your workspaces".');
  }
  if (now.getTime() - expected.createdAt > STATE_LIFETIME_MS) {
    throw new ConnectRefused('This connection attempt expired. Start again from "Your workspaces".');
  }
}

interface Landing {
  workspace: { id: string; name: string; icon: string | null };
  notionUserId: string;
  notionUser: Record<string, unknown>;
  botId: string;
  kind: 'oauth' | 'internal';
  credential: UpstreamCredential;
}

async function land(
  deps: ConnectDeps,
  person: Person,
  landing: Landing,
  reconnectWorkspaceId: string | null,
  address: string | null,
): Promise<ConnectResult> {
  const now = deps.clock.now();
  if (reconnectWorkspaceId && landing.workspace.id !== reconnectWorkspaceId) {
    throw new ConnectRefused(
      'You reconnected to a different Notion workspace than the one you chose. Pick the same workspace on Notion\'s page, or use "Connect a workspace" to add a new one.',
    );
  }
  const existing = await deps.connections.findForPersonAndWorkspace(person.id, landing.workspace.id);
  if (
    existing &&
    existing.status !== 'disconnected' &&
    existing.kind === 'oauth' &&
    landing.kind === 'oauth' &&
    existing.notionUserId !== landing.notionUserId
  ) {
    throw new ConnectRefused(
      `You are already connected to ${landing.workspace.name} as another Notion user. Sign in to Notion as that user to reconnect.`,
    );
  }
  if (landing.kind === 'internal') {
    const membership = await deps.workspaces.membership(landing.workspace.id, person.id);
    const known = await deps.workspaces.findById(landing.workspace.id);
    // Owners only, as in Notion; a workspace met for the first time makes its connector the owner.
    if (known && membership?.role !== 'owner')
      throw new ConnectRefused(`Only owners of ${landing.workspace.name} can connect it with an internal integration token.`, 403);
  }
  const { workspace, role, created } = await deps.workspaces.upsertWithConnector(landing.workspace, person.id, now);
  const connection = await deps.connections.save(
    {
      personId: person.id,
      workspaceId: workspace.id,
      kind: landing.kind,
      botId: landing.botId,
      notionUserId: landing.notionUserId,
      notionUser: landing.notionUser,
      encrypt: (connectionId) => encryptCredential(deps.keyring, landing.credential, connectionId),
    },
    now,
  );
  await deps.audit.record(
    {
      action: existing ? 'upstream_connection.replaced' : 'upstream_connection.created',
      actor: { type: 'person', id: person.id, label: person.email },
      target: { type: 'upstream_connection', id: connection.id },
      workspaceId: workspace.id,
      address,
      outcome: 'success',
      detail: { kind: landing.kind, workspaceCreated: created, role },
    },
    now,
  );
  deps.requestIndex(connection.id);
  return { workspace, role, connection, replaced: existing !== null };
}

export async function completeOAuthConnect(
  deps: ConnectDeps,
  args: { person: Person; code: string; redirectUri: string; reconnectWorkspaceId: string | null; address: string | null },
): Promise<ConnectResult> {
  const client = notionClient(deps.upstream);
  let answer;
  try {
    answer = await client.oauth.token({
      grant_type: 'authorization_code',
      code: args.code,
      redirect_uri: args.redirectUri,
      client_id: deps.upstream.clientId,
      client_secret: deps.upstream.clientSecret,
    });
  } catch (err) {
    if (isNotionClientError(err) && 'status' in err && typeof err.status === 'number' && err.status < 500) {
      throw new ConnectRefused('Notion did not accept this connection (the code was refused). Start again from "Your workspaces".');
    }
    throw err;
  }
  return connectFromTokenAnswer(deps, {
    person: args.person,
    answer,
    reconnectWorkspaceId: args.reconnectWorkspaceId,
    address: args.address,
  });
}

/** Store what Notion's token endpoint answered (also used to seed the demo's connections). */
export async function connectFromTokenAnswer(
  deps: ConnectDeps,
  args: { person: Person; answer: OauthTokenResponse; reconnectWorkspaceId: string | null; address: string | null },
): Promise<ConnectResult> {
  const { answer } = args;
  const owner = answer.owner;
  if (owner.type !== 'user' || !answer.workspace_id)
    throw new ConnectRefused('Notion answered with a workspace-level token; Gatehouse needs a token of your own Notion user.');
  return land(
    deps,
    args.person,
    {
      workspace: { id: answer.workspace_id, name: answer.workspace_name ?? 'Untitled workspace', icon: answer.workspace_icon ?? null },
      notionUserId: owner.user.id,
      notionUser: owner.user as unknown as Record<string, unknown>,
      botId: answer.bot_id,
      kind: 'oauth',
      credential: { accessToken: answer.access_token, refreshToken: answer.refresh_token ?? null },
    },
    args.reconnectWorkspaceId,
    args.address,
  );
}

/** An owner pastes an internal integration token: checked with users.me before anything is stored. */
export async function connectInternalToken(
  deps: ConnectDeps,
  args: { person: Person; token: string; address: string | null },
): Promise<ConnectResult> {
  const token = args.token.trim();
  if (!/^(secret_|ntn_)[A-Za-z0-9_-]{10,200}$/.test(token))
    throw new ConnectRefused('That does not look like a Notion internal integration token (it starts with "ntn_" or "secret_").');
  let me;
  try {
    me = await notionClient(deps.upstream, token).users.me({});
  } catch (err) {
    if (
      isNotionClientError(err) &&
      (err.code === APIErrorCode.Unauthorized || err.code === APIErrorCode.RestrictedResource || err.code === APIErrorCode.ObjectNotFound)
    ) {
      throw new ConnectRefused("Notion rejected this token. Copy the token again from the integration's settings in Notion.");
    }
    throw err;
  }
  if (me.type !== 'bot' || !('workspace_id' in me.bot) || !me.bot.workspace_id)
    throw new ConnectRefused('This token does not belong to a Notion integration bot.');
  return land(
    deps,
    args.person,
    {
      workspace: { id: me.bot.workspace_id, name: me.bot.workspace_name ?? 'Untitled workspace', icon: null },
      notionUserId: me.id,
      notionUser: me as unknown as Record<string, unknown>,
      botId: me.id,
      kind: 'internal',
      credential: { accessToken: token, refreshToken: null },
    },
    null,
    args.address,
  );
}
