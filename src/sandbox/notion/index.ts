/**
 * Sandbox Notion: an emulator of the Notion API subset Gatehouse uses (public
 * integration OAuth, users, search, pages, blocks, databases / data sources,
 * comments) with seeded workspaces, for the embedded default, demos and tests.
 *
 * Mount: app.use('/sandbox/notion', sandbox.router). Notion's base URL is then
 * `${publicUrl}` (clients call `${publicUrl}/v1/...`).
 */
import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import type { OauthTokenResponse } from '@notionhq/client';
import { apiRouter } from './api-routes.js';
import { authorizeRouter } from './authorize-routes.js';
import type { SandboxCapability } from './capabilities.js';
import { insertPage, text } from './content.js';
import { controlRouter } from './control-routes.js';
import { notionErrorHandler } from './errors.js';
import { createInternalIntegration, issueTokenPair, revokePersonTokens, tokenResponse, upsertPublicIntegration } from './grants.js';
import { serveWorkspaceIcon } from './icons.js';
import { normalizeId } from './ids.js';
import { oauthRouter } from './oauth-routes.js';
import { TokenBucketLimiter } from './rate-limit.js';
import { topLevelIds } from './reach.js';
import { buildSeedState, hashSecret, workspaceIconUrl } from './seed.js';
import { StateStore } from './state.js';
import type { SandboxState, WorkspaceRecord } from './state.js';
import { createWebhooks } from './webhooks.js';
import type { SandboxWebhooks, WebhookOptions } from './webhooks.js';

export type { SandboxCapability } from './capabilities.js';
export { SANDBOX_CAPABILITIES } from './capabilities.js';
export {
  SEED_USER_IDS,
  SEED_WORKSPACE_IDS,
  SEED_WORKSPACE_NAMES,
  SEED_PAGE_IDS,
  SEED_DATABASE_IDS,
  SEED_DATA_SOURCE_IDS,
  SEED_PASSWORDS,
  seedPageId,
} from './seed.js';
export type { OauthTokenResponse };
export type { SandboxWebhooks, WebhookEventType, WebhookOptions, WebhookSubscriptionView, WebhookIntegrationRef } from './webhooks.js';
export { WEBHOOK_EVENT_TYPES, WebhookSubscriptionError } from './webhooks.js';
export type { NotionWebhookEvent } from './webhook-payloads.js';

export interface SandboxNotionOptions {
  /** JSON file where state is persisted (atomic temp file + rename, debounced, flushed on close()). null = memory only. */
  stateFile: string | null;
  /** Absolute URL where the router is mounted, e.g. http://localhost:3000/sandbox/notion. */
  publicUrl: string;
  clock?: () => Date;
  /** Default 3600; expired access tokens answer 401 unauthorized. */
  accessTokenLifetimeSeconds?: number;
  /** Per (integration, workspace); default 3 with a burst of 10 (token bucket). Infinity disables the limit. Uses `clock`. */
  rateLimitPerSecond?: number;
  /** Public-integration OAuth clients (Gatehouse is one). Upserted into state at start. */
  oauthClients: Array<{ clientId: string; clientSecret: string; redirectUris: string[]; name: string; capabilities: SandboxCapability[] }>;
  /** Webhook delivery settings; `{ enabled: false }` sends nothing at all. */
  webhooks?: WebhookOptions;
}

export interface SandboxNotion {
  router: Router;
  /** Webhook subscriptions (one per integration) and their delivery. */
  webhooks: SandboxWebhooks;
  /** Mint a token pair as if `email` had completed the OAuth page for `workspaceName` ticking `pageIds` (default: every top-level page and database). */
  grantDirect(args: { clientId: string; email: string; workspaceName: string; pageIds?: string[] }): Promise<OauthTokenResponse>;
  /** Create an internal integration for a workspace (token `ntn_…`), reaching the given pages (default: all top-level). */
  createInternalIntegration(args: {
    workspaceName: string;
    name: string;
    capabilities: SandboxCapability[];
    pageIds?: string[];
  }): Promise<{ token: string; botId: string }>;
  /** Remove a person from a workspace; the tokens of their bots there stop working. */
  removeMember(args: { workspaceName: string; email: string }): Promise<void>;
  workspaces(): Array<{ id: string; name: string; icon: string | null }>;
  users(): Array<{ id: string; name: string; email: string }>;
  stats(): { tokenCalls: { authorization_code: number; refresh_token: number }; apiCalls: number };
  /** Adds `count` pages under a new top-level page "Generated pages N" (sections of 100), for benchmarks. */
  addGeneratedPages(workspaceName: string, count: number): Promise<{ rootPageId: string; pageIds: string[] }>;
  /** Sandbox-only control endpoints (internal-integrations, remove-member, generated-pages, stats, webhooks/...); standalone.ts mounts them at /_sandbox. */
  controlRouter: Router;
  close(): Promise<void>;
}

export async function createSandboxNotion(opts: SandboxNotionOptions): Promise<SandboxNotion> {
  const publicUrl = opts.publicUrl.replace(/\/+$/, '');
  const clock = opts.clock ?? (() => new Date());
  const accessTokenLifetimeSeconds = opts.accessTokenLifetimeSeconds ?? 3600;
  const store = await StateStore.load(opts.stateFile, () => buildSeedState(publicUrl));
  const { state } = store;
  for (const client of opts.oauthClients) {
    state.oauthClients[client.clientId] = {
      clientId: client.clientId,
      clientSecretHash: hashSecret(client.clientSecret),
      redirectUris: [...client.redirectUris],
      name: client.name,
      capabilities: [...client.capabilities],
    };
  }
  // Icon URLs follow the current public URL (a restart may change host or port).
  for (const workspace of state.workspaces) if (workspace.icon !== null) workspace.icon = workspaceIconUrl(publicUrl, workspace.name);
  store.changed();
  const { webhooks, events, close: stopWebhooks } = createWebhooks({ store, clock, options: opts.webhooks });

  const counters = { tokenCalls: { authorization_code: 0, refresh_token: 0 }, apiCalls: 0 };
  // Bursts of ten, as Notion allows some; a raised limit raises the burst too, so same-millisecond requests are not refused.
  const rate = opts.rateLimitPerSecond ?? 3;
  const limiter = new TokenBucketLimiter(rate, Math.max(10, Math.min(rate, 10_000)));

  const router = Router();
  router.use(express.json({ limit: '1mb' }), express.urlencoded({ extended: false, limit: '1mb' }));
  router.get('/icons/:name.svg', serveWorkspaceIcon(state, publicUrl));
  router.use('/v1/oauth/authorize', authorizeRouter({ store, publicUrl, clock }));
  router.use(
    '/v1/oauth',
    oauthRouter({ store, clock, accessTokenLifetimeSeconds, countTokenCall: (grant) => (counters.tokenCalls[grant] += 1) }),
  );
  router.use('/v1', apiRouter({ store, publicUrl, clock, limiter, events, countApiCall: () => (counters.apiCalls += 1) }));
  router.use(notionErrorHandler);

  const sandbox: Omit<SandboxNotion, 'controlRouter'> = {
    router,
    webhooks,

    async grantDirect({ clientId, email, workspaceName, pageIds }) {
      const client = state.oauthClients[clientId];
      if (!client) throw new Error(`unknown OAuth client ${clientId}`);
      const { person, workspace } = membership(state, email, workspaceName);
      const now = clock();
      const integration = upsertPublicIntegration(state, {
        client,
        personId: person.id,
        workspaceId: workspace.id,
        pageIds: checkPageIds(state, workspace, pageIds),
        now,
      });
      const pair = issueTokenPair(state, integration, now, accessTokenLifetimeSeconds);
      store.changed();
      return tokenResponse(state, integration, pair, randomUUID());
    },

    async createInternalIntegration({ workspaceName, name, capabilities, pageIds }) {
      const workspace = workspaceNamed(state, workspaceName);
      const created = createInternalIntegration(state, {
        workspaceId: workspace.id,
        name,
        capabilities,
        pageIds: checkPageIds(state, workspace, pageIds),
        now: clock(),
      });
      store.changed();
      return created;
    },

    async removeMember({ workspaceName, email }) {
      const { person, workspace } = membership(state, email, workspaceName);
      workspace.memberIds = workspace.memberIds.filter((id) => id !== person.id);
      revokePersonTokens(state, person.id, workspace.id);
      store.changed();
    },

    workspaces: () => state.workspaces.map((w) => ({ id: w.id, name: w.name, icon: w.icon })),
    users: () => state.persons.map((p) => ({ id: p.id, name: p.name, email: p.email })),
    stats: () => ({ tokenCalls: { ...counters.tokenCalls }, apiCalls: counters.apiCalls }),

    async addGeneratedPages(workspaceName, count) {
      if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
      const workspace = workspaceNamed(state, workspaceName);
      const batch = (state.generatedBatches += 1);
      const now = clock();
      const author = workspace.memberIds[0] ?? state.persons[0].id;
      const page = (title: string, parent: { type: 'workspace' } | { type: 'page_id'; id: string }) => {
        const created = insertPage(state, {
          workspaceId: workspace.id,
          parent,
          properties: { title: { type: 'title', title: [text(title)] } },
          author,
          now,
        });
        events.pageCreated(created, author);
        return created;
      };
      const root = page(`Generated pages ${batch}`, { type: 'workspace' });
      const pageIds: string[] = [];
      for (let section = 0; section * 100 < count; section += 1) {
        const sectionPage = page(`Generated section ${batch}.${section + 1}`, { type: 'page_id', id: root.id });
        for (let i = section * 100; i < Math.min(count, (section + 1) * 100); i += 1)
          pageIds.push(page(`Generated page ${batch}.${i + 1}`, { type: 'page_id', id: sectionPage.id }).id);
      }
      store.changed();
      return { rootPageId: root.id, pageIds };
    },

    async close() {
      stopWebhooks();
      await store.flush();
    },
  };
  return { ...sandbox, controlRouter: controlRouter(sandbox) };
}

function workspaceNamed(state: SandboxState, name: string): WorkspaceRecord {
  const workspace = state.workspaces.find((w) => w.name === name);
  if (!workspace) throw new Error(`unknown sandbox workspace "${name}"`);
  return workspace;
}

function membership(state: SandboxState, email: string, workspaceName: string) {
  const workspace = workspaceNamed(state, workspaceName);
  const person = state.persons.find((p) => p.email.toLowerCase() === email.toLowerCase());
  if (!person) throw new Error(`unknown sandbox person ${email}`);
  if (!workspace.memberIds.includes(person.id)) throw new Error(`${email} is not a member of "${workspaceName}"`);
  return { person, workspace };
}

/** Picks must be pages or databases of the workspace; none given means every top-level one. */
function checkPageIds(state: SandboxState, workspace: WorkspaceRecord, pageIds: string[] | undefined): string[] {
  if (pageIds === undefined) return topLevelIds(state, workspace.id);
  return pageIds.map((raw) => {
    const id = normalizeId(raw) ?? raw;
    const record = state.pages[id] ?? state.databases[id];
    if (!record || record.workspaceId !== workspace.id) throw new Error(`${raw} is not a page or database of "${workspace.name}"`);
    return id;
  });
}
