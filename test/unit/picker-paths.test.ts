/** A search result's path: its parents' titles outermost first, read in one store call, "…" when longer than PATH_DEPTH. */
import { describe, expect, it } from '@jest/globals';
import { PATH_DEPTH, pathsOf } from '../../src/consent/picker.js';
import type { IndexedPage, PageIndexStore } from '../../src/store/page-index.js';

const page = (pageId: string, parentId: string | null): IndexedPage => ({
  pageId,
  parentId,
  parentType: parentId ? 'page' : 'workspace',
  title: `T ${pageId}`,
  objectType: 'page',
});

/** The store's withAncestors over a map, counting calls. */
function indexOf(pages: IndexedPage[]) {
  const byId = new Map(pages.map((p) => [p.pageId, p]));
  const calls: number[] = [];
  const store = {
    async withAncestors(_connectionId: string, ids: string[], depth: number) {
      calls.push(ids.length);
      const out = new Map<string, IndexedPage>();
      let level = ids.map((id) => byId.get(id)).filter((p) => p !== undefined);
      for (let d = 0; d <= depth && level.length > 0; d++) {
        for (const p of level) out.set(p.pageId, p);
        level = level.map((p) => (p.parentId ? byId.get(p.parentId) : undefined)).filter((p) => p !== undefined);
      }
      return out;
    },
  } as unknown as PageIndexStore;
  return { store, calls };
}

describe('pathsOf', () => {
  it('names the parents outermost first, in one store call for every result', async () => {
    const pages = [page('a', null), page('b', 'a'), page('c', 'b'), page('d', 'b'), page('e', 'missing')];
    const { store, calls } = indexOf(pages);
    const paths = await pathsOf(store, 'conn', [pages[2]!, pages[3]!, pages[0]!, pages[4]!]);
    expect(paths.get('c')).toEqual(['T a', 'T b']);
    expect(paths.get('d')).toEqual(['T a', 'T b']);
    expect(paths.get('a')).toEqual([]);
    // A parent outside the index ends the path.
    expect(paths.get('e')).toEqual([]);
    expect(calls).toEqual([2]);
  });

  it('starts a path deeper than PATH_DEPTH with "…" and ends a parent cycle', async () => {
    const chain = Array.from({ length: PATH_DEPTH + 3 }, (_, i) => page(`p${i}`, i === 0 ? null : `p${i - 1}`));
    const { store } = indexOf([...chain, page('x', 'y'), page('y', 'x')]);
    const deepest = chain[chain.length - 1]!;
    const paths = await pathsOf(store, 'conn', [deepest, page('x', 'y')]);
    expect(paths.get(deepest.pageId)).toEqual(['…', ...chain.slice(-PATH_DEPTH - 1, -1).map((p) => p.title)]);
    expect(paths.get('x')!.length).toBeLessThanOrEqual(PATH_DEPTH + 1);
  });
});
