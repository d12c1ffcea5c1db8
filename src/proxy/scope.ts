/**
 * Page scope: an object (page, block, database, data source) is in scope when
 * it is a picked page or lies below one (DESIGN.md "Grant": a page grants its
 * descendants).
 *
 * What is cached is a fact of the person's upstream connection, never of a
 * grant: an object's ancestor chain (nearest parent first, up to the
 * workspace). The grant's picks are read fresh on every call, so a changed or
 * revoked grant takes effect at the next call and nothing grant-derived needs
 * clearing. Chains come from, in order: this call's memo, the shared cache
 * (Redis in production, in-process otherwise; entries expire after the
 * cache lifetime, 2 minutes by default), the connection's page index, and
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

export interface AncestryCache {
  get(connectionId: string, ids: readonly string[]): Promise<Map<string, Chain>>;
  set(connectionId: string, entries: ReadonlyArray<readonly [string, Chain]>): Promise<void>;
}

export const DEFAULT_ANCESTRY_TTL_MS = 120_000;
const MAX_DEPTH = 64;

/** In-process cache for the embedded default: bounded (oldest entries go first) and expiring on the injected clock. */
export function memoryAncestryCache(clock: Clock, options: { ttlMs?: number; maxEntries?: number } = {}): AncestryCache {
  const ttl = options.ttlMs ?? DEFAULT_ANCESTRY_TTL_MS;
  const max = options.maxEntries ?? 50_000;
  const entries = new Map<string, { chain: Chain; expiresAt: number }>();
  return {
    async get(connectionId, ids) {
      const now = clock.now().getTime();
      const found = new Map<string, Chain>();
      for (const id of ids) {
        const key = `${connectionId}:${id}`;
        const entry = entries.get(key);
        if (!entry) continue;
        if (entry.expiresAt <= now) entries.delete(key);
        else found.set(id, entry.chain);
      }
      return found;
    },
    async set(connectionId, list) {
      const expiresAt = clock.now().getTime() + ttl;
      for (const [id, chain] of list) {
        const key = `${connectionId}:${id}`;
        entries.delete(key);
        entries.set(key, { chain, expiresAt });
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
  const key = (connectionId: string, id: string) => `${prefix}proxy:ancestry:${connectionId}:${id}`;
  return {
    async get(connectionId, ids) {
      const found = new Map<string, Chain>();
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
          if (typeof entry.e === 'number' && entry.e > now && Array.isArray(entry.c) && entry.c.every((x) => typeof x === 'string')) found.set(id, entry.c as Chain);
        } catch {
          // A damaged entry is a miss.
        }
      });
      return found;
    },
    async set(connectionId, list) {
      const expiresAt = clock.now().getTime() + ttl;
      await Promise.all(list.map(([id, chain]) => redis.setPx(key(connectionId, id), JSON.stringify({ c: chain, e: expiresAt }), ttl).catch(() => undefined)));
    },
  };
}

/** The tree node above an object, from a Notion `parent` value: null at the top of the workspace; undefined when unreadable. */
export function parentNode(parent: unknown): string | null | undefined {
  if (typeof parent !== 'object' || parent === null) return undefined;
  const p = parent as Record<string, unknown>;
  switch (p.type) {
    case 'workspace': return null;
    case 'page_id': return typeof p.page_id === 'string' ? p.page_id : undefined;
    case 'block_id': return typeof p.block_id === 'string' ? p.block_id : undefined;
    case 'database_id': return typeof p.database_id === 'string' ? p.database_id : undefined;
    // A row of a data source: the database is the tree node (as in the page index).
    case 'data_source_id': return typeof p.database_id === 'string' ? p.database_id : typeof p.data_source_id === 'string' ? p.data_source_id : undefined;
    default: return undefined;
  }
}

/** One step up, from Notion: the parent node, null at the top, undefined when Notion does not know the object. */
export type LookupParent = (id: string, kind: ObjectKind) => Promise<string | null | undefined>;

export interface ScopeDeps {
  cache: AncestryCache;
  pageIndex: Pick<PageIndexStore, 'get'>;
  lookupParent: LookupParent;
  /** Called when Notion's fresh answer contradicts the page index (the index then resyncs). */
  onIndexContradicted?: () => void;
}

/** Scope decisions for one call: one connection, the grant's current picks, a memo for the call. */
export class ScopeResolver {
  private readonly memo = new Map<string, Chain | null>();
  private readonly picks: Set<string>;

  constructor(private readonly deps: ScopeDeps, private readonly connectionId: string, pageIds: readonly string[]) {
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
   * the index for this object.
   */
  async learn(id: string, parent: string | null | undefined, checkIndex: boolean): Promise<Chain | null> {
    if (parent === undefined) return this.chainOf(id, 'block');
    const above = parent === null ? [] : await this.chainOf(parent, 'block');
    const chain = above === null ? null : parent === null ? [] : [parent, ...above];
    const known = this.memo.has(id) ? this.memo.get(id) ?? null : (await this.deps.cache.get(this.connectionId, [id])).get(id) ?? null;
    this.memo.set(id, chain);
    if (chain !== null) {
      // Unchanged since Notion last said so: nothing to store, and the index was checked then (the hot path of repeated reads).
      if (known !== null && known.length === chain.length && known.every((a, i) => a === chain[i])) return chain;
      await this.deps.cache.set(this.connectionId, [[id, chain]]);
      if (checkIndex) {
        const indexed = await this.deps.pageIndex.get(this.connectionId, id);
        if (indexed && (indexed.parentId ?? null) !== parent) this.deps.onIndexContradicted?.();
      }
    }
    return chain;
  }

  /** Several objects at once: one cache read for all, then walks for the misses. */
  async prefetch(ids: readonly string[]): Promise<void> {
    const unknown = [...new Set(ids)].filter((id) => !this.memo.has(id));
    if (unknown.length === 0) return;
    const cached = await this.deps.cache.get(this.connectionId, unknown);
    for (const [id, chain] of cached) this.memo.set(id, chain);
  }

  /** The object's ancestors, or null when neither the index nor Notion knows it (out of scope). */
  async chainOf(id: string, kind: ObjectKind): Promise<Chain | null> {
    const walked: string[] = [];
    let current = id;
    let currentKind = kind;
    let tail: Chain | null;
    for (;;) {
      if (this.memo.has(current)) {
        tail = this.memo.get(current) ?? null;
        break;
      }
      const cached = (await this.deps.cache.get(this.connectionId, [current])).get(current);
      if (cached) {
        this.memo.set(current, cached);
        tail = cached;
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
        this.memo.set(current, []);
        tail = [];
        walked.pop();
        const fresh = this.chainsFor(walked, current, []);
        await this.remember(fresh, [current, []]);
        return this.memo.get(id) ?? null;
      }
      current = parent;
      currentKind = 'block';
    }
    if (tail === null) {
      for (const node of walked) this.memo.set(node, null);
      return null;
    }
    await this.remember(this.chainsFor(walked, current, tail));
    return this.memo.get(id) ?? null;
  }

  /** Chains of walked nodes (each the child of the next), above which sits `top` with chain `topChain`. */
  private chainsFor(walked: string[], top: string, topChain: Chain): Array<[string, Chain]> {
    const out: Array<[string, Chain]> = [];
    let above: Chain = [top, ...topChain];
    for (let i = walked.length - 1; i >= 0; i -= 1) {
      out.push([walked[i]!, above]);
      above = [walked[i]!, ...above];
    }
    return out;
  }

  private async remember(entries: Array<[string, Chain]>, extra?: [string, Chain]): Promise<void> {
    const all = extra ? [...entries, extra] : entries;
    for (const [node, chain] of all) this.memo.set(node, chain);
    if (all.length > 0) await this.deps.cache.set(this.connectionId, all);
  }

  private async parentOf(id: string, kind: ObjectKind): Promise<string | null | undefined> {
    const indexed = await this.deps.pageIndex.get(this.connectionId, id);
    if (indexed) return indexed.parentId;
    return this.deps.lookupParent(id, kind);
  }
}
