/**
 * Who may hear of an event: the rules the fan-out and every attempt apply,
 * as plain functions over data.
 *
 * An event reaches a partner subscription through a **reader** of its app:
 * an active grant in the event's workspace (public intake), or the internal
 * integration itself (its own intake). A reader covers an event when
 *   1. it holds the capability (`read_comments` for `comment.*`, else
 *      `read_content`);
 *   2. for the public intake, the granting person's Notion user (or that
 *      connection's bot) is in the event's `accessible_by`: the person can
 *      still see the entity;
 *   3. the scope target (the page; a comment's `data.page_id`; a view's
 *      database) is a picked page or lies under one, judged by the proxy's
 *      own rule (`ScopeResolver.covers`) on the target's ancestor chain.
 * File uploads name no page and reach nobody.
 */
import type { Kysely } from 'kysely';
import { userInfoLevelOf, type UserInfoLevel } from '../oauth/capabilities.js';
import type { ObjectKind } from '../proxy/errors.js';
import { normaliseNotionId } from '../proxy/endpoints.js';
import { ScopeResolver, type AncestryCache, type Chain, type ParentLink } from '../proxy/scope.js';
import { grantStore } from '../store/grants.js';
import { internalIntegrationStore } from '../store/internal-integrations.js';
import { pageIndexStore } from '../store/page-index.js';
import type { Database } from '../store/schema.js';
import { upstreamConnectionStore } from '../store/upstream-connections.js';

/** The public integration's intake; any other intake id is an internal integration's app id. */
export const PUBLIC_INTAKE = 'public';

export interface StoredEvent {
  id: string;
  intakeId: string;
  workspaceId: string;
  type: string;
  entityId: string;
  entityType: string;
  body: Record<string, unknown>;
  receivedAt: Date;
}

/** What a grant must cover for this event, and Notion's fresh word on the entity's parent (undefined: none). */
export interface ScopeTarget {
  scopeId: string;
  kind: ObjectKind;
  capability: 'read_content' | 'read_comments';
  parent: ParentLink | null | undefined;
}

export interface Reader {
  /** The bot id the partner knows: the grant's id, or the internal integration's app id. */
  botId: string;
  appId: string;
  connectionId: string;
  pageIds: string[];
  capabilities: string[];
  userInfo: UserInfoLevel;
  /** Notion ids of the connection's user and bot; null for an internal integration (no `accessible_by` there). */
  notionIds: string[] | null;
}

/** Notion ids compared in one form (dashed, lower case), whichever form they came in. */
export const norm = (id: string) => normaliseNotionId(id) ?? id;

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** A webhook `parent` (`{id, type: space|page|database|block|team, data_source_id?}`) as the proxy's parent link. */
export function parentFromWebhook(parent: unknown): ParentLink | null | undefined {
  const p = record(parent);
  if (!p) return undefined;
  const id = typeof p.id === 'string' ? norm(p.id) : null;
  switch (p.type) {
    case 'space':
    case 'workspace':
    case 'team':
      return null;
    case 'page':
      return id ? { id, kind: 'page' } : undefined;
    case 'database':
      if (typeof p.data_source_id === 'string') return { id: norm(p.data_source_id), kind: 'data_source' };
      return id ? { id, kind: 'database' } : undefined;
    case 'data_source':
      return id ? { id, kind: 'data_source' } : undefined;
    case 'block':
      return id ? { id, kind: 'block' } : undefined;
    default:
      return undefined;
  }
}

function kindOfEntity(type: string): ObjectKind | null {
  if (type === 'page' || type === 'database' || type === 'data_source' || type === 'block') return type;
  return null;
}

export function scopeTarget(event: Pick<StoredEvent, 'type' | 'entityId' | 'entityType' | 'body'>): ScopeTarget | null {
  const data = record(event.body.data) ?? {};
  if (event.type.startsWith('comment.')) {
    if (typeof data.page_id !== 'string') return null;
    return { scopeId: norm(data.page_id), kind: 'page', capability: 'read_comments', parent: undefined };
  }
  if (event.type.startsWith('view.')) {
    const parent = parentFromWebhook(data.parent);
    if (!parent) return null;
    return { scopeId: parent.id, kind: parent.kind, capability: 'read_content', parent: undefined };
  }
  const kind = kindOfEntity(event.entityType);
  if (!kind) return null;
  return { scopeId: norm(event.entityId), kind, capability: 'read_content', parent: parentFromWebhook(data.parent) };
}

/** Ids in the event's `accessible_by`; null when Notion sent none. */
export function accessibleIds(body: Record<string, unknown>): Set<string> | null {
  if (!Array.isArray(body.accessible_by)) return null;
  const ids = body.accessible_by.map((a) => record(a)?.id).filter((id): id is string => typeof id === 'string');
  return new Set(ids.map(norm));
}

/** Rules 1 and 2: the reader may hear of this kind of event about something its person can see. */
export function mayHear(reader: Reader, target: ScopeTarget, accessible: Set<string> | null): boolean {
  if (!reader.capabilities.includes(target.capability)) return false;
  if (reader.notionIds === null) return true;
  return accessible !== null && reader.notionIds.some((id) => accessible.has(id));
}

/** Rule 3, by the proxy's own rule on a known chain. */
export function covers(reader: Reader, target: ScopeTarget, chain: Chain | null, deps: ScopeDepsLite): boolean {
  return resolverFor(deps, reader.connectionId, reader.pageIds).covers(target.scopeId, chain);
}

/** What a resolver needs here: the shared ancestry cache and the page index, and never a Notion call. */
export interface ScopeDepsLite {
  cache: AncestryCache;
  db: Kysely<Database>;
}

export function resolverFor(deps: ScopeDepsLite, connectionId: string, pageIds: readonly string[]): ScopeResolver {
  return new ScopeResolver(
    { cache: deps.cache, pageIndex: pageIndexStore(deps.db), lookupParent: async () => undefined },
    connectionId,
    pageIds.map(norm),
  );
}

/**
 * Today's readers for an event among `appIds` (every app when omitted):
 * active grants through active connections, or the internal integration's
 * connected pages. Read on `db`, which may be a transaction.
 */
export async function readersFor(
  db: Kysely<Database>,
  event: Pick<StoredEvent, 'intakeId' | 'workspaceId'>,
  appIds: readonly string[],
): Promise<Reader[]> {
  if (appIds.length === 0) return [];
  if (event.intakeId !== PUBLIC_INTAKE) {
    if (!appIds.includes(event.intakeId)) return [];
    const app = await internalIntegrationStore(db).findById(event.intakeId);
    if (!app || app.workspaceId !== event.workspaceId) return [];
    const pages = await internalIntegrationStore(db).listPages(app.id);
    const byConnection = new Map<string, string[]>();
    for (const page of pages) byConnection.set(page.connectionId, [...(byConnection.get(page.connectionId) ?? []), page.pageId]);
    return [...byConnection].map(([connectionId, pageIds]) => ({
      botId: app.id,
      appId: app.id,
      connectionId,
      pageIds,
      capabilities: app.capabilities,
      userInfo: userInfoLevelOf(app.capabilities),
      notionIds: null,
    }));
  }
  const wanted = new Set(appIds);
  const grants = (await grantStore(db).listActiveForWorkspace(event.workspaceId)).filter((g) => wanted.has(g.appId));
  if (grants.length === 0) return [];
  const connections = new Map((await upstreamConnectionStore(db).listForWorkspace(event.workspaceId)).map((c) => [c.id, c]));
  const readers: Reader[] = [];
  for (const grant of grants) {
    const connection = connections.get(grant.upstreamConnectionId);
    if (!connection || connection.status !== 'active') continue;
    readers.push({
      botId: grant.id,
      appId: grant.appId,
      connectionId: connection.id,
      pageIds: grant.pageIds,
      capabilities: grant.capabilities,
      userInfo: userInfoLevelOf(grant.capabilities),
      notionIds: [norm(connection.notionUserId), norm(connection.botId)],
    });
  }
  return readers;
}
