/**
 * The page index: per upstream connection, the pages and databases it
 * reaches (id, parent, title, type), synced from Notion's search. The page
 * picker and scope checks read it so they do not spend Notion's small rate
 * limit. Indexing runs in the background, never inside a request; progress is
 * stored on the connection so every instance can show it.
 */
import { APIErrorCode, isNotionClientError } from '@notionhq/client';
import type { Logger } from 'pino';
import type { IndexedPage, PageIndexStore } from '../store/page-index.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import { ConnectionBroken, type CredentialDeps } from '../upstream/credentials.js';
import { UpstreamRateLimited, type UpstreamGateway } from '../upstream/gateway.js';
import type { IndexMetrics } from '../http/operator-metrics.js';

/** The fields of a search result (page, database or data source) that the index reads. */
interface NotionParent {
  type?: string;
  page_id?: string;
  block_id?: string;
  database_id?: string;
  data_source_id?: string;
}
interface SearchResult {
  object?: string;
  id: string;
  parent?: NotionParent;
  database_parent?: NotionParent;
  properties?: Record<string, { type?: string; title?: unknown }>;
  title?: unknown;
}

function plainText(richText: unknown): string {
  return Array.isArray(richText) ? richText.map((t: { plain_text?: string }) => t.plain_text ?? '').join('') : '';
}

function parentOf(parent: NotionParent | undefined): { parentId: string | null; parentType: string } {
  switch (parent?.type) {
    case 'page_id':
      return { parentId: parent.page_id ?? null, parentType: 'page' };
    case 'block_id':
      return { parentId: parent.block_id ?? null, parentType: 'block' };
    case 'database_id':
      return { parentId: parent.database_id ?? null, parentType: 'database' };
    // A row (2025-09-03) sits under its data source, which sits under its database: row → data source → database,
    // as the proxy's scope walks it (a grant on the data source covers its rows, one on the database covers both).
    case 'data_source_id':
      return parent.data_source_id
        ? { parentId: parent.data_source_id, parentType: 'data_source' }
        : { parentId: parent.database_id ?? null, parentType: 'database' };
    default:
      return { parentId: null, parentType: 'workspace' };
  }
}

/** One search result as index rows (a data source yields its database). */
export function toIndexedPages(result: SearchResult): IndexedPage[] {
  if (result.object === 'page') {
    const titleProperty = Object.values(result.properties ?? {}).find((p) => p?.type === 'title');
    return [{ pageId: result.id, ...parentOf(result.parent), title: plainText(titleProperty?.title) || 'Untitled', objectType: 'page' }];
  }
  if (result.object === 'database') {
    return [{ pageId: result.id, ...parentOf(result.parent), title: plainText(result.title) || 'Untitled', objectType: 'database' }];
  }
  if (result.object === 'data_source') {
    const databaseId: string | undefined = result.parent?.database_id;
    const title = plainText(result.title) || 'Untitled';
    const rows: IndexedPage[] = [
      { pageId: result.id, parentId: databaseId ?? null, parentType: 'database', title, objectType: 'data_source' },
    ];
    if (databaseId) rows.push({ pageId: databaseId, ...parentOf(result.database_parent), title, objectType: 'database' });
    return rows;
  }
  return [];
}

export interface PageIndexerDeps extends CredentialDeps {
  connections: UpstreamConnectionStore;
  pageIndex: PageIndexStore;
  logger: Logger;
  /** Indexing spends the workspace's Notion budget like partners do, as partner "gatehouse". */
  gateway: UpstreamGateway;
  sleep?: (ms: number) => Promise<void>;
  /** Longest wait honoured from Notion's Retry-After before giving up this run. */
  maxRetryAfterMs?: number;
  metrics?: IndexMetrics;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function syncPageIndex(deps: PageIndexerDeps, connectionId: string): Promise<number> {
  const connection = await deps.connections.findById(connectionId);
  if (!connection || connection.status !== 'active') return 0;
  const runStartedAt = deps.clock.now();
  const sleep = deps.sleep ?? defaultSleep;
  let cursor: string | undefined;
  let seen = 0;
  // Progress counts what this run has seen: rows left from the previous run stay until it completes.
  const seenThisRun = new Set<string>();
  try {
    await deps.connections.setIndexState(connection.id, { indexState: 'running', indexCount: 0 }, deps.clock.now());
    do {
      let page;
      for (;;) {
        try {
          page = await deps.gateway.call(
            { connectionId: connection.id, workspaceId: connection.workspaceId, partnerKey: 'gatehouse' },
            (client) => client.search({ page_size: 100, ...(cursor ? { start_cursor: cursor } : {}) }),
          );
          break;
        } catch (err) {
          // The workspace's budget is spent (partners first, or Notion said 429): wait as told.
          if (err instanceof UpstreamRateLimited) {
            const waitMs = err.retryAfterSeconds * 1000;
            if (waitMs > (deps.maxRetryAfterMs ?? 60_000)) throw err;
            await sleep(waitMs);
            continue;
          }
          // Notion's rate limit (about 3 requests a second) is normal during a large sync: wait as told.
          if (isNotionClientError(err) && err.code === APIErrorCode.RateLimited) {
            const retryAfter = Number((err as { headers?: Headers }).headers?.get?.('retry-after') ?? '1');
            const waitMs = Math.max(1, Number.isFinite(retryAfter) ? retryAfter : 1) * 1000;
            if (waitMs > (deps.maxRetryAfterMs ?? 60_000)) throw err;
            await sleep(waitMs);
            continue;
          }
          throw err;
        }
      }
      const rows = dedupe((page.results as unknown as SearchResult[]).flatMap(toIndexedPages));
      await deps.pageIndex.upsertBatch(connection.id, rows, deps.clock.now());
      seen += page.results.length;
      deps.metrics?.objects(page.results.length);
      for (const row of rows) seenThisRun.add(row.pageId);
      await deps.connections.setIndexState(connection.id, { indexState: 'running', indexCount: seenThisRun.size }, deps.clock.now());
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor);
    await deps.pageIndex.removeNotSeenSince(connection.id, runStartedAt);
    const count = await deps.pageIndex.count(connection.id);
    await deps.connections.setIndexState(
      connection.id,
      { indexState: 'ready', indexCount: count, indexError: null, indexedAt: deps.clock.now() },
      deps.clock.now(),
    );
    deps.metrics?.run('ready');
    return count;
  } catch (err) {
    const message =
      err instanceof ConnectionBroken
        ? 'The Notion connection no longer works: reconnect it.'
        : 'Notion could not be read; the index will be retried.';
    deps.logger.warn({ connectionId, err: String((err as Error)?.message ?? err) }, 'page index sync failed');
    deps.metrics?.run('failed');
    const kept = await deps.pageIndex.count(connection.id).catch(() => undefined);
    await deps.connections
      .setIndexState(connection.id, { indexState: 'failed', indexError: message, indexCount: kept }, deps.clock.now())
      .catch(() => undefined);
    return seen;
  }
}

function dedupe(rows: IndexedPage[]): IndexedPage[] {
  // One INSERT cannot touch the same key twice (ON CONFLICT); later rows win.
  return [...new Map(rows.map((r) => [r.pageId, r])).values()];
}

/** Background runner: a queue of connections to index, one at a time per instance, claimed in the database across instances. */
export class PageIndexer {
  private readonly queue = new Set<string>();
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: PageIndexerDeps) {}

  request(connectionId: string): void {
    if (this.stopped) return;
    this.queue.add(connectionId);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.stopped) {
      const [next] = this.queue;
      this.queue.delete(next!);
      try {
        const now = this.deps.clock.now();
        const claimed = await this.deps.connections.claimIndexing(next!, now, new Date(now.getTime() - 10 * 60_000));
        if (claimed) await syncPageIndex(this.deps, next!);
      } catch (err) {
        this.deps.logger.warn({ err: String(err), connectionId: next }, 'page indexing could not run');
      }
    }
  }

  /** Re-index every active connection periodically, so the picker stays fresh. */
  startPeriodic(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.deps.connections.listActive().then(
        (all) => all.forEach((c) => this.request(c.id)),
        () => undefined,
      );
    }, intervalMs);
    this.timer.unref();
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.queue.clear();
    await this.idle();
  }
}
