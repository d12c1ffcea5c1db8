/**
 * Page scope: an object (page, block, database, data source) is in scope when
 * it is a picked page or lies below one (a grant: a page grants its
 * descendants).
 *
 * What is cached is a fact of the person's upstream connection, never of a
 * grant: an object's ancestor chain (nearest parent first, up to the
 * workspace). The grant's picks are read fresh on every call, so a changed or
 * revoked grant takes effect at the next call and nothing grant-derived needs
 * clearing. Chains come from, in order: this call's memo, the shared cache
 * (Redis in production, in-process otherwise; entries expire after the
 * cache lifetime, 2 minutes by default, and a chain built on a cached one
 * expires no later than it), the connection's page index, and
 * last Notion itself (parents of pages, blocks, databases, data sources).
 * Single reads take the object's own parent from Notion's fresh answer, so a
 * page moved out of a granted tree is out at once; objects below it once
 * their cached chains expire (and the page index has caught up, see
 * `contradicts`).
 */
import type { Clock } from '../clock.js';
import type { PageIndexStore } from '../store/page-index.js';
import type { ObjectKind } from './errors.js';

/** Ancestor ids, nearest first; [] for an object at the top of the workspace. */
export type Chain = string[];

/** A cached chain and when it stops being trusted (ms since the epoch). */
export interface CachedChain {
  chain: Chain;
  expiresAt: number;
}

/**
 * A chain to store. `notAfter`: a chain built on top of a cached one expires
 * no later than it (so a derived chain never outlives what it was derived
 * from); unset for chains learned fresh on this call.
 */
export interface ChainEntry {
  id: string;
  chain: Chain;
  notAfter?: number;
}

export interface AncestryCache {
  get(connectionId: string, ids: readonly string[]): Promise<Map<string, CachedChain>>;
  set(connectionId: string, entries: readonly ChainEntry[]): Promise<void>;
}

function expiryOf(entry: ChainEntry, now: number, ttl: number): number {
  return Math.min(now + ttl, entry.notAfter ?? Infinity);
}

export const DEFAULT_ANCESTRY_TTL_MS = 120_000;
const MAX_DEPTH = 64;
/** Rows looked up in Notion for their data source, per call at most (a page of new rows must not spend the workspace's budget). */
const MAX_ROW_LOOKUPS = 5;

/** In-process cache for the embedded default: bounded (oldest entries go first) and expiring on the injected clock. */
export function memoryAncestryCache(clock: Clock, options: { ttlMs?: number; maxEntries?: number } = {}): AncestryCache {
  const ttl = options.ttlMs ?? DEFAULT_ANCESTRY_TTL_MS;
  const max = options.maxEntries ?? 50_000;
  const entries = new Map<string, CachedChain>();
  return {
    async get(connectionId, ids) {
      const now = clock.now().getTime();
      const found = new Map<string, CachedChain>();
      for (const id of ids) {
        const key = `${connectionId}:${id}`;
        const entry = entries.get(key);
        if (!entry) continue;
        if (entry.expiresAt <= now) entries.delete(key);
        else found.set(id, entry);
      }
      return found;
    },
    async set(connectionId, list) {
      const now = clock.now().getTime();
      for (const entry of list) {
        const expiresAt = expiryOf(entry, now, ttl);
        if (expiresAt <= now) continue;
        const key = `${connectionId}:${entry.id}`;
        entries.delete(key);
        entries.set(key, { chain: entry.chain, expiresAt });
      }
      while (entries.size > max) entries.delete(entries.keys().next().value as string);
    },
  };
}

export interface RedisLike {
  mGet(keys: string[]): Promise<Array<string | null>>;
  setPx(key: string, value: string, ttlMs: number): Promise<unknown>;
}

/**
 * Shared cache for several instances. Entries carry their own expiry (the
 * injected clock) besides Redis's PX, so tests can move time; a Redis failure
 * is a cache miss, never a failed call.
 */
export function redisAncestryCache(redis: RedisLike, prefix: string, clock: Clock, options: { ttlMs?: number } = {}): AncestryCache {
  const ttl = options.ttlMs ?? DEFAULT_ANCESTRY_TTL_MS;
  // One hash tag per connection: the MGET of one lookup reads keys that a Redis Cluster keeps on one node.
  const key = (connectionId: string, id: string) => `${prefix}proxy:ancestry:{${connectionId}}:${id}`;
  return {
    async get(connectionId, ids) {
      const found = new Map<string, CachedChain>();
      if (ids.length === 0) return found;
      let values: Array<string | null>;
      try {
        values = await redis.mGet(ids.map((id) => key(connectionId, id)));
      } catch {
        return found;
      }
      const now = clock.now().getTime();
      ids.forEach((id, i) => {
        const value = values[i];
        if (!value) return;
        try {
          const entry = JSON.parse(value) as { c: unknown; e: unknown };
          if (typeof entry.e === 'number' && entry.e > now && Array.isArray(entry.c) && entry.c.every((x) => typeof x === 'string'))
            found.set(id, { chain: entry.c as Chain, expiresAt: entry.e });
        } catch {
          // A damaged entry is a miss.
        }
      });
      return found;
    },
    async set(connectionId, list) {
      const now = clock.now().getTime();
      await Promise.all(
        list.map((entry) => {
          const expiresAt = expiryOf(entry, now, ttl);
          if (expiresAt <= now) return undefined;
          return redis
            .setPx(key(connectionId, entry.id), JSON.stringify({ c: entry.chain, e: expiresAt }), Math.ceil(expiresAt - now))
            .catch(() => undefined);
        }),
      );
    },
  };
}

/** The tree node above an object and what kind of object it is, as a Notion `parent` value names it. */
export interface ParentLink {
  id: string;
  kind: ObjectKind;
}

/**
 * The tree node above an object, from a Notion `parent` value: null at the
 * top of the workspace; undefined when unreadable. A row of a data source
 * (2025-09-03) sits under its data source, which sits under its database
 * (as in the page index): row → data source → database → …
 */
export function parentLink(parent: unknown): ParentLink | null | undefined {
  if (typeof parent !== 'object' || parent === null) return undefined;
  const p = parent as Record<string, unknown>;
  const link = (id: unknown, kind: ObjectKind) => (typeof id === 'string' ? { id, kind } : undefined);
  switch (p.type) {
    case 'workspace':
      return null;
    case 'page_id':
      return link(p.page_id, 'page');
    case 'block_id':
      return link(p.block_id, 'block');
    case 'database_id':
      return link(p.database_id, 'database');
    case 'data_source_id':
      return link(p.data_source_id, 'data_source') ?? link(p.database_id, 'database');
    default:
      return undefined;
  }
}

/** The kind of object an index row's parent is, for the next step of a walk (Notion reads data sources at their own path). */
function kindOfIndexedParent(parentType: string): ObjectKind {
  return parentType === 'data_source' ? 'data_source' : parentType === 'database' ? 'database' : parentType === 'page' ? 'page' : 'block';
}

/** One step up, from Notion: the parent node, null at the top, undefined when Notion does not know the object. */
export type LookupParent = (id: string, kind: ObjectKind) => Promise<ParentLink | null | undefined>;

export interface ScopeDeps {
  cache: AncestryCache;
  pageIndex: Pick<PageIndexStore, 'get'>;
  lookupParent: LookupParent;
  /**
   * A database row's parent as Notion-Version 2025-09-03 names it (its data
   * source), for a 2022-06-28 answer that names only the database and a row
   * the page index does not know yet.
   */
  lookupRowParent?: (id: string) => Promise<ParentLink | null | undefined>;
  /** The time (ms since the epoch) a chain remembered during the call is checked against; unset: never expires within a call. */
  now?: () => number;
  /** Called when Notion's fresh answer contradicts the page index (the index then resyncs). */
  onIndexContradicted?: () => void;
}

/** A chain known on this call, and the time it must be forgotten by when it came (even partly) from the cache. */
interface Known {
  chain: Chain;
  notAfter?: number;
}

function sameChain(a: Chain, b: Chain): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** Scope decisions for one call: one connection, the grant's current picks, a memo for the call. */
export class ScopeResolver {
  private readonly memo = new Map<string, Known | null>();
  private readonly picks: Set<string>;
  private rowLookups = 0;

  constructor(
    private readonly deps: ScopeDeps,
    private readonly connectionId: string,
    pageIds: readonly string[],
  ) {
    this.picks = new Set(pageIds);
  }

  /** In scope given a known chain: the object is picked or one of its ancestors is. */
  covers(id: string, chain: Chain | null): boolean {
    if (this.picks.has(id)) return true;
    return chain !== null && chain.some((ancestor) => this.picks.has(ancestor));
  }

  async inScope(id: string, kind: ObjectKind): Promise<boolean> {
    if (this.picks.has(id)) return true;
    return this.covers(id, await this.chainOf(id, kind));
  }

  /**
   * Records what Notion just said about an object's parent (a fresh answer)
   * and returns the object's chain. The fresh link wins over the cache and
   * the index for this object. A plain id is a block's parent (a comment's).
   */
  async learn(id: string, parent: ParentLink | string | null | undefined, checkIndex: boolean): Promise<Chain | null> {
    if (parent === undefined) return this.chainOf(id, 'block');
    const known = await this.knownOf(id);
    let link: ParentLink | null = typeof parent === 'string' ? { id: parent, kind: 'block' } : parent;
    let certain = true;
    if (link?.kind === 'database') ({ link, certain } = await this.dataSourceBetween(id, link, known?.chain ?? null));
    let fresh: Known | null;
    if (link === null) fresh = { chain: [] };
    // Notion confirms the nearest parent: the rest of the cached chain stays as trusted as it was, and expires with it.
    else if (known !== null && known.chain[0] === link.id) fresh = known;
    else {
      const above = await this.walk(link.id, link.kind);
      fresh =
        above === null ? null : { chain: [link.id, ...above.chain], ...(above.notAfter === undefined ? {} : { notAfter: above.notAfter }) };
    }
    this.memo.set(id, fresh);
    if (fresh === null) return null;
    // Unchanged since Notion last said so: nothing to store, and the index was checked then (the hot path of repeated reads).
    if (known !== null && sameChain(known.chain, fresh.chain)) return fresh.chain;
    // A row whose data source is not known: right for this call, but not to be shared (a grant on the data source would miss it).
    if (!certain) return fresh.chain;
    await this.deps.cache.set(this.connectionId, [{ id, ...fresh }]);
    if (checkIndex) {
      const indexed = await this.deps.pageIndex.get(this.connectionId, id);
      if (indexed && (indexed.parentId ?? null) !== (link?.id ?? null)) this.deps.onIndexContradicted?.();
    }
    return fresh.chain;
  }

  /**
   * Notion-Version 2022-06-28 names a row's database as its parent; the data
   * source between them (from a 2025-09-03 answer already cached, or the page
   * index) stays in the chain, so both versions see the same tree and a grant
   * on the data source covers its rows in either.
   */
  private async dataSourceBetween(id: string, database: ParentLink, known: Chain | null): Promise<{ link: ParentLink; certain: boolean }> {
    // Something directly under the database (memoised, so the caller's walk from it costs nothing more).
    const between = async (candidate: string) => (await this.chainOf(candidate, 'data_source'))?.[0] === database.id;
    const certainly = (link: ParentLink) => ({ link, certain: true });
    if (known !== null && known[0] === database.id) return certainly(database);
    if (known !== null && known.length >= 2 && known[1] === database.id && (await between(known[0]!)))
      return certainly({ id: known[0]!, kind: 'data_source' });
    const indexed = await this.deps.pageIndex.get(this.connectionId, id);
    let candidate = indexed?.parentType === 'data_source' ? indexed.parentId : null;
    if (!indexed) {
      // A row made since the last index: Notion names its data source when asked in 2025-09-03 (a few rows per call at most).
      if (!this.deps.lookupRowParent || this.rowLookups >= MAX_ROW_LOOKUPS) return { link: database, certain: false };
      this.rowLookups += 1;
      const fresh = await this.deps.lookupRowParent(id);
      if (fresh?.kind === 'data_source') candidate = fresh.id;
    }
    if (!candidate) return certainly(database);
    return certainly((await between(candidate)) ? { id: candidate, kind: 'data_source' } : database);
  }

  /** Several objects at once: one cache read for all (before the walks or answers that need them). */
  async prefetch(ids: readonly string[]): Promise<void> {
    const unknown = [...new Set(ids)].filter((id) => !this.memo.has(id));
    if (unknown.length === 0) return;
    const cached = await this.deps.cache.get(this.connectionId, unknown);
    for (const [id, entry] of cached) if (!this.memo.has(id)) this.memo.set(id, { chain: entry.chain, notAfter: entry.expiresAt });
  }

  /** The object's ancestors, or null when neither the index nor Notion knows it (out of scope). */
  async chainOf(id: string, kind: ObjectKind): Promise<Chain | null> {
    return (await this.walk(id, kind))?.chain ?? null;
  }

  /** Remembered during this call and not yet expired (a call may wait seconds for the budget and for Notion). */
  private remembered(id: string): boolean {
    if (!this.memo.has(id)) return false;
    const known = this.memo.get(id);
    if (known?.notAfter === undefined || !this.deps.now || known.notAfter > this.deps.now()) return true;
    this.memo.delete(id);
    return false;
  }

  private async knownOf(id: string): Promise<Known | null> {
    if (this.remembered(id)) return this.memo.get(id) ?? null;
    const cached = (await this.deps.cache.get(this.connectionId, [id])).get(id);
    return cached ? { chain: cached.chain, notAfter: cached.expiresAt } : null;
  }

  /** Up from `id` until a known chain (memo, cache) or the top of the workspace; every node passed is remembered. */
  private async walk(id: string, kind: ObjectKind): Promise<Known | null> {
    const walked: string[] = [];
    let current = id;
    let currentKind = kind;
    let tail: Known | null;
    for (;;) {
      if (this.remembered(current)) {
        tail = this.memo.get(current) ?? null;
        break;
      }
      const cached = (await this.deps.cache.get(this.connectionId, [current])).get(current);
      if (cached) {
        tail = { chain: cached.chain, notAfter: cached.expiresAt };
        this.memo.set(current, tail);
        break;
      }
      if (walked.includes(current) || walked.length >= MAX_DEPTH) {
        tail = null;
        break;
      }
      walked.push(current);
      const parent = await this.parentOf(current, currentKind);
      if (parent === undefined) {
        tail = null;
        break;
      }
      if (parent === null) {
        // `current` sits at the top of the workspace.
        walked.pop();
        const top: Known = { chain: [] };
        await this.remember([...this.chainsFor(walked, current, top), { id: current, chain: [] }]);
        return this.memo.get(id) ?? null;
      }
      current = parent.id;
      currentKind = parent.kind;
    }
    if (tail === null) {
      for (const node of walked) this.memo.set(node, null);
      return null;
    }
    await this.remember(this.chainsFor(walked, current, tail));
    return this.memo.get(id) ?? null;
  }

  /** Chains of walked nodes (each the child of the next), above which sits `top`; they expire no later than its chain. */
  private chainsFor(walked: string[], top: string, topKnown: Known): ChainEntry[] {
    const out: ChainEntry[] = [];
    let above: Chain = [top, ...topKnown.chain];
    for (let i = walked.length - 1; i >= 0; i -= 1) {
      out.push({ id: walked[i]!, chain: above, ...(topKnown.notAfter === undefined ? {} : { notAfter: topKnown.notAfter }) });
      above = [walked[i]!, ...above];
    }
    return out;
  }

  private async remember(entries: ChainEntry[]): Promise<void> {
    for (const entry of entries)
      this.memo.set(entry.id, { chain: entry.chain, ...(entry.notAfter === undefined ? {} : { notAfter: entry.notAfter }) });
    if (entries.length > 0) await this.deps.cache.set(this.connectionId, entries);
  }

  private async parentOf(id: string, kind: ObjectKind): Promise<ParentLink | null | undefined> {
    const indexed = await this.deps.pageIndex.get(this.connectionId, id);
    if (indexed) return indexed.parentId === null ? null : { id: indexed.parentId, kind: kindOfIndexedParent(indexed.parentType) };
    return this.deps.lookupParent(id, kind);
  }
}
