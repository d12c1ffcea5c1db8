/**
 * The ancestry cache's promise: what it says about a page's ancestors is
 * forgotten within the cache lifetime of when Notion (or the index) said it.
 * A chain built on top of a cached one (a new page below a cached parent)
 * expires with that parent's entry, not a full lifetime later, so a move of
 * an ancestor reaches every page below it within one lifetime. Run on the
 * in-process cache and on Redis (a key prefix of its own).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { ManualClock } from '../../src/clock.js';
import type { ObjectKind } from '../../src/proxy/errors.js';
import {
  DEFAULT_ANCESTRY_TTL_MS,
  memoryAncestryCache,
  redisAncestryCache,
  ScopeResolver,
  type AncestryCache,
  type ParentLink,
} from '../../src/proxy/scope.js';
import { deleteRedisPrefix, REDIS_URL, uniqueName } from '../support/databases.js';

const redis = createClient({ url: REDIS_URL });
const prefix = `${uniqueName('ancestry')}:`;

afterAll(async () => {
  if (redis.isOpen) {
    await deleteRedisPrefix(prefix);
    await redis.quit();
  }
});

let made = 0;
const caches: Array<[string, (clock: ManualClock) => Promise<AncestryCache>]> = [
  ['in process', async (clock) => memoryAncestryCache(clock)],
  [
    'Redis',
    async (clock) => {
      if (!redis.isOpen) await redis.connect();
      return redisAncestryCache(
        { mGet: (keys) => redis.mGet(keys), setPx: (key, value, ms) => redis.set(key, value, { expiration: { type: 'PX', value: ms } }) },
        `${prefix}${(made += 1)}:`,
        clock,
      );
    },
  ],
];

describe.each(caches)('ancestry cache (%s)', (_name, makeCache) => {
  it('a chain derived from a cached parent expires with it, so a moved ancestor takes every page below it out within one lifetime', async () => {
    const clock = new ManualClock(new Date('2026-11-01T10:00:00Z'));
    const cache = await makeCache(clock);
    // Notion's tree, as the lookups see it now: granted → section → (new pages below section).
    const parents: Record<string, ParentLink | null> = {
      granted: null,
      section: { id: 'granted', kind: 'page' },
      early: { id: 'section', kind: 'page' },
      late: { id: 'section', kind: 'page' },
    };
    const asked: string[] = [];
    const resolver = () =>
      new ScopeResolver(
        {
          cache,
          pageIndex: { get: async () => null },
          lookupParent: async (id: string, _kind: ObjectKind) => {
            asked.push(id);
            return parents[id];
          },
        },
        'connection',
        ['granted'],
      );

    expect(await resolver().inScope('early', 'page')).toBe(true);
    expect(asked).toEqual(['early', 'section', 'granted']);

    // Just before the section's entry expires, a page first seen below it is walked up to the cached section.
    clock.advance(DEFAULT_ANCESTRY_TTL_MS - 1_000);
    asked.length = 0;
    expect(await resolver().inScope('late', 'page')).toBe(true);
    expect(asked).toEqual(['late']);

    // The section moves out of the granted tree. Within one lifetime of when it was last confirmed, nothing below it is reachable.
    parents.section = null;
    clock.advance(1_001);
    asked.length = 0;
    expect(await resolver().inScope('late', 'page')).toBe(false);
    expect(await resolver().inScope('early', 'page')).toBe(false);
    expect(asked).toEqual(['late', 'section', 'early']);
  });

  it('a chain read at the start of a long call is not trusted past its expiry at the end of it', async () => {
    const clock = new ManualClock(new Date('2026-11-01T10:00:00Z'));
    const cache = await makeCache(clock);
    const parents: Record<string, ParentLink | null> = {
      granted: null,
      section: { id: 'granted', kind: 'page' },
      leaf: { id: 'section', kind: 'page' },
    };
    const looked: string[] = [];
    const resolver = () =>
      new ScopeResolver(
        {
          cache,
          pageIndex: { get: async () => null },
          lookupParent: async (id) => (looked.push(id), parents[id]),
          now: () => clock.now().getTime(),
        },
        'connection',
        ['granted'],
      );
    expect(await resolver().inScope('leaf', 'page')).toBe(true);

    // A call starts just before the entries expire and reads the leaf's chain; Notion answers after they expired,
    // and the section has moved out meanwhile.
    clock.advance(DEFAULT_ANCESTRY_TTL_MS - 500);
    const slow = resolver();
    await slow.prefetch(['leaf']);
    parents.section = null;
    clock.advance(1_000);
    looked.length = 0;
    expect(slow.covers('leaf', await slow.learn('leaf', { id: 'section', kind: 'page' }, false))).toBe(false);
    expect(looked).toEqual(['section']);
  });

  it('a fresh answer naming the cached parent keeps the cached chain without reading the parent again', async () => {
    const clock = new ManualClock(new Date('2026-11-01T10:00:00Z'));
    const cache = await makeCache(clock);
    const parents: Record<string, ParentLink | null> = {
      granted: null,
      section: { id: 'granted', kind: 'page' },
      leaf: { id: 'section', kind: 'page' },
    };
    const looked: string[] = [];
    const reads: string[][] = [];
    const counted: AncestryCache = {
      get: (connectionId, ids) => (reads.push([...ids]), cache.get(connectionId, ids)),
      set: (connectionId, entries) => cache.set(connectionId, entries),
    };
    const resolver = () =>
      new ScopeResolver(
        { cache: counted, pageIndex: { get: async () => null }, lookupParent: async (id) => (looked.push(id), parents[id]) },
        'connection',
        ['granted'],
      );
    expect(await resolver().inScope('leaf', 'page')).toBe(true);
    reads.length = 0;
    looked.length = 0;

    const warm = resolver();
    await warm.prefetch(['leaf']);
    expect(await warm.learn('leaf', { id: 'section', kind: 'page' }, false)).toEqual(['section', 'granted']);
    expect(reads).toEqual([['leaf']]);
    expect(looked).toEqual([]);

    // Notion names another parent: the cached chain is not used, the new parent is walked.
    const moved = resolver();
    parents.elsewhere = null;
    expect(await moved.learn('leaf', { id: 'elsewhere', kind: 'page' }, false)).toEqual(['elsewhere']);
    expect(moved.covers('leaf', ['elsewhere'])).toBe(false);
  });
});
