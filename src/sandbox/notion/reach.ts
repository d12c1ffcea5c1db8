/**
 * Reach: which content a bot can see. A bot reaches the pages and databases
 * picked for it and everything below them ("a parent grants its children",
 * developers.notion.com/docs/authorization). Anything else answers 404, never 403, so that
 * an integration cannot learn that unshared content exists.
 */
import { objectNotFound } from './errors.js';
import type { BlockRecord, DatabaseRecord, IntegrationRecord, PageRecord, ParentRef, SandboxState } from './state.js';

export type Located =
  { kind: 'page'; record: PageRecord } | { kind: 'database'; record: DatabaseRecord } | { kind: 'block'; record: BlockRecord };

export function locate(state: SandboxState, id: string): Located | null {
  const page = state.pages[id];
  if (page) return { kind: 'page', record: page };
  const database = state.databases[id];
  if (database) return { kind: 'database', record: database };
  const block = state.blocks[id];
  if (block) return { kind: 'block', record: block };
  return null;
}

export function databaseByDataSourceId(state: SandboxState, dataSourceId: string): DatabaseRecord | null {
  for (const database of Object.values(state.databases)) if (database.dataSourceId === dataSourceId) return database;
  return null;
}

function parentId(parent: ParentRef): string | null {
  return parent.type === 'workspace' ? null : parent.id;
}

/** Is `id` (page, database or block) one of the bot's picks or below one? */
export function isReached(
  state: SandboxState,
  integration: IntegrationRecord,
  id: string,
  memo: Map<string, boolean> = new Map(),
): boolean {
  const roots = new Set(integration.reach);
  const path: string[] = [];
  let current: string | null = id;
  let answer = false;
  while (current !== null) {
    const known = memo.get(current);
    if (known !== undefined) {
      answer = known;
      break;
    }
    const located = locate(state, current);
    if (!located || located.record.workspaceId !== integration.workspaceId || path.includes(current)) break;
    path.push(current);
    if (roots.has(current)) {
      answer = true;
      break;
    }
    current = parentId(located.record.parent);
  }
  for (const visited of path) memo.set(visited, answer);
  return answer;
}

export function reachedPage(state: SandboxState, integration: IntegrationRecord, id: string): PageRecord {
  const page = state.pages[id];
  if (!page || !isReached(state, integration, id)) throw objectNotFound('page', id);
  return page;
}

export function reachedDatabase(state: SandboxState, integration: IntegrationRecord, id: string): DatabaseRecord {
  const database = state.databases[id];
  if (!database || !isReached(state, integration, id)) throw objectNotFound('database', id);
  return database;
}

export function reachedDataSource(state: SandboxState, integration: IntegrationRecord, dataSourceId: string): DatabaseRecord {
  const database = databaseByDataSourceId(state, dataSourceId);
  if (!database || !isReached(state, integration, database.id)) throw objectNotFound('data_source', dataSourceId);
  return database;
}

/** A block id may also name a page or a database (their child_page / child_database block). */
export function reachedBlock(state: SandboxState, integration: IntegrationRecord, id: string): Located {
  const located = locate(state, id);
  if (!located || !isReached(state, integration, id)) throw objectNotFound('block', id);
  return located;
}

/** Every page and database the bot reaches, in no particular order. */
export function reachableContent(
  state: SandboxState,
  integration: IntegrationRecord,
): { pages: PageRecord[]; databases: DatabaseRecord[] } {
  const memo = new Map<string, boolean>();
  const pages = Object.values(state.pages).filter(
    (page) => page.workspaceId === integration.workspaceId && isReached(state, integration, page.id, memo),
  );
  const databases = Object.values(state.databases).filter(
    (database) => database.workspaceId === integration.workspaceId && isReached(state, integration, database.id, memo),
  );
  return { pages, databases };
}

/** Top-level pages and databases of a workspace: the default picks and the roots of the page picker. */
export function topLevelIds(state: SandboxState, workspaceId: string): string[] {
  const pages = Object.values(state.pages).filter((p) => p.workspaceId === workspaceId && p.parent.type === 'workspace' && !p.inTrash);
  const databases = Object.values(state.databases).filter(
    (d) => d.workspaceId === workspaceId && d.parent.type === 'workspace' && !d.inTrash,
  );
  return [...pages, ...databases].sort((a, b) => a.createdTime.localeCompare(b.createdTime)).map((r) => r.id);
}
