/**
 * Fan-out: one stored event → one delivery per partner subscription that may
 * hear of it (src/webhooks/coverage.ts), each with its first attempt job.
 *
 *   load event → scope target → subscriptions wanting the type → readers
 *   → per connection: old chain (before the event), new chain (Notion's
 *     fresh parent) → page index and ancestry cache follow the event
 *   → per subscription: covered before / after → delivery rows + attempt
 *     jobs, in one transaction
 *
 * Idempotent: the rows are unique per (event, subscription, origin) and only
 * new rows get a job, so a fan-out job retried after a crash adds nothing.
 * A replay (origin `replay:<id>`, one subscription) judges on what the index
 * knows today and changes neither the index nor the cache.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { AncestryCache, Chain, ChainEntry, ScopeResolver } from '../proxy/scope.js';
import { pageIndexStore, type IndexedPage } from '../store/page-index.js';
import type { Database } from '../store/schema.js';
import { upstreamConnectionStore } from '../store/upstream-connections.js';
import { webhookDeliveryStore, type NewDelivery } from '../store/webhook-deliveries.js';
import { webhookSubscriptionStore } from '../store/webhook-subscriptions.js';
import { jobId, QUEUES, type JobEngine } from './engine.js';
import {
  accessibleIds,
  covers,
  mayHear,
  norm,
  PUBLIC_INTAKE,
  readersFor,
  resolverFor,
  scopeTarget,
  type Reader,
  type ScopeTarget,
  type StoredEvent,
} from './coverage.js';

export interface FanOutDeps {
  db: Kysely<Database>;
  cache: AncestryCache;
  engine: Pick<JobEngine, 'sendIn'>;
  clock: Clock;
}

export interface FanOutRequest {
  eventId: string;
  /** `live`, or `replay:<id>`. */
  origin?: string;
  /** Only this subscription (replays). */
  subscriptionId?: string;
}

export async function loadEvent(db: Kysely<Database>, id: string): Promise<StoredEvent | null> {
  const row = await db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    intakeId: row.intake_id,
    workspaceId: row.workspace_id,
    type: row.type,
    entityId: row.entity_id,
    entityType: row.entity_type,
    body: row.body,
    receivedAt: row.received_at,
  };
}

/** The first attempt's job: id derived from (delivery, attempt), so a second enqueue is the same job. */
export function attemptJob(deliveryId: string, attempt: number): { data: { deliveryId: string; attempt: number }; id: string } {
  return { data: { deliveryId, attempt }, id: jobId(`webhook-delivery:${deliveryId}:${attempt}`) };
}

export async function fanOut(deps: FanOutDeps, request: FanOutRequest): Promise<{ deliveries: string[] }> {
  const origin = request.origin ?? 'live';
  const live = origin === 'live';
  const now = deps.clock.now();
  const descendants: Array<{ connectionId: string; entries: ChainEntry[] }> = [];
  const created = await deps.db.transaction().execute(async (trx) => {
    const event = await loadEvent(trx, request.eventId);
    if (!event) return [];
    const target = scopeTarget(event);
    if (!target) return [];
    let subscriptions = (await webhookSubscriptionStore(trx).listAll()).filter(
      (s) => s.status === 'active' && s.events.includes(event.type),
    );
    if (request.subscriptionId) subscriptions = subscriptions.filter((s) => s.id === request.subscriptionId);
    if (event.intakeId !== PUBLIC_INTAKE) subscriptions = subscriptions.filter((s) => s.appId === event.intakeId);
    const accessible = accessibleIds(event.body);
    const readers = (
      await readersFor(
        trx,
        event,
        subscriptions.map((s) => s.appId),
      )
    ).filter((r) => mayHear(r, target, accessible));

    const scope = { cache: deps.cache, db: trx };
    const moved = live && event.type.endsWith('.moved');
    // Connections whose view of the tree this event changes: every reader's, and (public intake) every other person's in the workspace.
    const connectionIds = new Set(readers.map((r) => r.connectionId));
    if (live && event.intakeId === PUBLIC_INTAKE) {
      for (const c of await upstreamConnectionStore(trx).listActiveForWorkspace(event.workspaceId)) connectionIds.add(c.id);
    }
    const chains = new Map<string, { before: Chain | null | undefined; after: Chain | null }>();
    const readerConnections = new Set(readers.map((r) => r.connectionId));
    for (const connectionId of connectionIds) {
      // Ancestry is learned only where the person can see the entity; elsewhere the index just lets go of it.
      if (readerConnections.has(connectionId) || (await connectionSees(trx, connectionId, accessible))) {
        const resolver = resolverFor(scope, connectionId, []);
        const before = moved ? await chainBeforeMove(trx, resolver, connectionId, target) : undefined;
        const after =
          live && target.parent !== undefined
            ? await resolver.learn(target.scopeId, target.parent, false)
            : await resolver.chainOf(target.scopeId, target.kind);
        chains.set(connectionId, { before, after });
      }
      if (live) {
        const moves = await followInIndex(trx, event, target, connectionId, readers, accessible, chains.get(connectionId)?.after ?? null);
        if (moves) descendants.push(moves);
      }
    }

    const rows: NewDelivery[] = [];
    for (const subscription of subscriptions) {
      const own = readers.filter((r) => r.appId === subscription.appId);
      const decision = decide(own, target, chains, moved, scope);
      if (decision) rows.push({ eventId: event.id, subscriptionId: subscription.id, origin, scopeId: target.scopeId, ...decision });
    }
    const inserted = await webhookDeliveryStore(trx).insertMany(rows, now);
    for (const row of inserted) {
      const job = attemptJob(row.id, 1);
      await deps.engine.sendIn(trx, QUEUES.deliver, job.data, { id: job.id });
    }
    return inserted.map((r) => r.id);
  });
  // The cache is not transactional: descendants of a moved page get their new chains once the move is committed.
  for (const { connectionId, entries } of descendants) await deps.cache.set(connectionId, entries);
  return { deliveries: created };
}

/**
 * Where a moved page sat before the move: under the parent the page index
 * still records (the index follows events only once they are fanned out),
 * else as the ancestry cache last knew it. The index comes first because the
 * proxy may already have cached the new place from the answer to the very
 * call that moved the page.
 */
async function chainBeforeMove(
  trx: Kysely<Database>,
  resolver: ScopeResolver,
  connectionId: string,
  target: ScopeTarget,
): Promise<Chain | null> {
  const indexed = await pageIndexStore(trx).get(connectionId, target.scopeId);
  if (!indexed) return resolver.chainOf(target.scopeId, target.kind);
  if (indexed.parentId === null) return [];
  const kind =
    indexed.parentType === 'data_source' || indexed.parentType === 'database' || indexed.parentType === 'page'
      ? indexed.parentType
      : 'block';
  const above = await resolver.chainOf(indexed.parentId, kind);
  return [indexed.parentId, ...(above ?? [])];
}

/** Covered before and after the event, for one app's readers: which delivery, if any. */
function decide(
  readers: Reader[],
  target: ScopeTarget,
  chains: Map<string, { before: Chain | null | undefined; after: Chain | null }>,
  moved: boolean,
  scope: Parameters<typeof covers>[3],
): Pick<NewDelivery, 'access' | 'chain'> | null {
  let after: Chain | null | undefined;
  let before: Chain | null | undefined;
  let coveredAfter = false;
  let coveredBefore = false;
  for (const reader of readers) {
    const known = chains.get(reader.connectionId)!;
    if (!coveredAfter && covers(reader, target, known.after, scope)) {
      coveredAfter = true;
      after = known.after;
    }
    if (moved && !coveredBefore && known.before !== undefined && covers(reader, target, known.before, scope)) {
      coveredBefore = true;
      before = known.before;
    }
  }
  if (coveredAfter) return { access: moved && !coveredBefore ? 'gained' : null, chain: after ?? [] };
  if (coveredBefore) return { access: 'lost', chain: before ?? [] };
  return null;
}

/**
 * The page index follows the event for one connection, without a Notion
 * call: a created, undeleted or moved object is (re)placed under its new
 * parent where the connection's person can see it, and leaves the index
 * where they cannot any more; a deleted one leaves it. Returns the new
 * chains of a moved page's indexed descendants, for the ancestry cache.
 */
async function followInIndex(
  trx: Kysely<Database>,
  event: StoredEvent,
  target: ScopeTarget,
  connectionId: string,
  readers: Reader[],
  accessible: Set<string> | null,
  after: Chain | null,
): Promise<{ connectionId: string; entries: ChainEntry[] } | null> {
  if (event.type.startsWith('comment.') || event.type.startsWith('view.')) return null;
  if (target.kind !== 'page' && target.kind !== 'database' && target.kind !== 'data_source') return null;
  const index = pageIndexStore(trx);
  const verb = event.type.slice(event.type.lastIndexOf('.') + 1);
  const existing = await index.get(connectionId, target.scopeId);
  if (verb === 'deleted') {
    await index.remove(connectionId, [target.scopeId]);
    return null;
  }
  if (verb !== 'created' && verb !== 'undeleted' && verb !== 'moved') return null;
  if (target.parent === undefined) return null;
  const visible =
    event.intakeId === PUBLIC_INTAKE
      ? await connectionSees(trx, connectionId, accessible)
      : readers.some((r) => r.connectionId === connectionId) &&
        (existing !== null || target.parent === null || (await index.get(connectionId, target.parent.id)) !== null);
  if (!visible) {
    if (existing) await index.remove(connectionId, [target.scopeId]);
    return null;
  }
  const page: IndexedPage = {
    pageId: target.scopeId,
    parentId: target.parent?.id ?? null,
    parentType: target.parent === null ? 'workspace' : target.parent.kind,
    title: existing?.title ?? 'Untitled',
    objectType: target.kind,
  };
  await index.upsertBatch(connectionId, [page], event.receivedAt);
  if (verb !== 'moved' || after === null) return null;
  return { connectionId, entries: await descendantChains(trx, connectionId, target.scopeId, after) };
}

async function connectionSees(trx: Kysely<Database>, connectionId: string, accessible: Set<string> | null): Promise<boolean> {
  if (accessible === null) return false;
  const connection = await upstreamConnectionStore(trx).findById(connectionId);
  return connection !== null && (accessible.has(norm(connection.notionUserId)) || accessible.has(norm(connection.botId)));
}

const MAX_DESCENDANTS = 500;

async function descendantChains(trx: Kysely<Database>, connectionId: string, rootId: string, rootChain: Chain): Promise<ChainEntry[]> {
  const index = pageIndexStore(trx);
  const entries: ChainEntry[] = [];
  const queue: Array<{ id: string; chain: Chain }> = [{ id: rootId, chain: rootChain }];
  while (queue.length > 0 && entries.length < MAX_DESCENDANTS) {
    const { id, chain } = queue.shift()!;
    for (const child of await index.children(connectionId, id, 100, 0)) {
      const childChain = [id, ...chain];
      entries.push({ id: child.pageId, chain: childChain });
      queue.push({ id: child.pageId, chain: childChain });
    }
  }
  return entries;
}
