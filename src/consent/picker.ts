/**
 * The page picker's view model, read from the person's own page index (never
 * Notion: the picker must not spend Notion's small rate limit).
 *
 * It stays quick on 10,000 pages: a small index (up to FULL_TREE_LIMIT pages)
 * is shown as one nested tree; a larger one shows its top-level pages
 * PAGE_SIZE at a time, and opening a page shows its children, PAGE_SIZE at a
 * time. A search is a flat list of at most PAGE_SIZE matches. Every screen
 * shows at most FULL_TREE_LIMIT checkboxes, so one form post stays under the
 * body parser's parameter limit (200) even when every box is ticked.
 */
import type { IndexedPage, PageIndexStore } from '../store/page-index.js';

export const FULL_TREE_LIMIT = 150;
export const PAGE_SIZE = 50;

export interface PickerNode {
  id: string;
  title: string;
  checked: boolean;
  /** Paged mode: the page has children not shown here; offer to open it. */
  openable: boolean;
  children: PickerNode[];
}

export interface PickerView {
  mode: 'tree' | 'top' | 'inside' | 'search';
  query: string;
  /** `inside`: the page whose children are listed. */
  parent: { id: string; title: string } | null;
  offset: number;
  hasPrevious: boolean;
  hasNext: boolean;
  /** `search`: more matched than are shown. */
  truncated: boolean;
  nodes: PickerNode[];
  /** Every page id with a checkbox on this screen, so that unticking one counts. */
  shownIds: string[];
  total: number;
}

export interface PickerRequest {
  query: string;
  parentId: string | null;
  offset: number;
}

/** Notion shows pages without a title as "Untitled"; a checkbox needs a label. */
export function titleOf(page: Pick<IndexedPage, 'title'>): string {
  return page.title.trim() === '' ? 'Untitled' : page.title;
}

export async function buildPicker(
  pageIndex: PageIndexStore,
  connectionId: string,
  request: PickerRequest,
  picked: ReadonlySet<string>,
): Promise<PickerView> {
  const total = await pageIndex.count(connectionId);
  const base = { query: request.query, parent: null, offset: 0, hasPrevious: false, hasNext: false, truncated: false, total };
  const leaf = (page: IndexedPage, openable = false): PickerNode => ({
    id: page.pageId,
    title: titleOf(page),
    checked: picked.has(page.pageId),
    openable,
    children: [],
  });

  if (request.query !== '') {
    const found = await pageIndex.search(connectionId, request.query, PAGE_SIZE + 1);
    const nodes = found.slice(0, PAGE_SIZE).map((p) => leaf(p));
    return { ...base, mode: 'search', truncated: found.length > PAGE_SIZE, nodes, shownIds: nodes.map((n) => n.id) };
  }

  if (total <= FULL_TREE_LIMIT) {
    const nodes = nestTree(await pageIndex.listAll(connectionId, FULL_TREE_LIMIT), picked);
    return { ...base, mode: 'tree', nodes, shownIds: flatten(nodes) };
  }

  const offset = Math.max(0, request.offset);
  const openable = async (pages: IndexedPage[]) =>
    Promise.all(pages.map(async (p) => leaf(p, (await pageIndex.children(connectionId, p.pageId, 1, 0)).length > 0)));
  if (request.parentId !== null) {
    const parent = await pageIndex.get(connectionId, request.parentId);
    if (parent) {
      const page = await pageIndex.children(connectionId, parent.pageId, PAGE_SIZE + 1, offset);
      const children = await openable(page.slice(0, PAGE_SIZE));
      const parentNode: PickerNode = { ...leaf(parent), children };
      return {
        ...base,
        mode: 'inside',
        parent: { id: parent.pageId, title: titleOf(parent) },
        offset,
        hasPrevious: offset > 0,
        hasNext: page.length > PAGE_SIZE,
        nodes: [parentNode],
        shownIds: [parent.pageId, ...children.map((c) => c.id)],
      };
    }
  }
  const page = await pageIndex.roots(connectionId, PAGE_SIZE + 1, offset);
  const nodes = await openable(page.slice(0, PAGE_SIZE));
  return {
    ...base,
    mode: 'top',
    offset,
    hasPrevious: offset > 0,
    hasNext: page.length > PAGE_SIZE,
    nodes,
    shownIds: nodes.map((n) => n.id),
  };
}

/** Children under their parents; a page whose parent is not in the index is at the top, as in Notion's own picker. */
export function nestTree(pages: IndexedPage[], picked: ReadonlySet<string>): PickerNode[] {
  const nodes = new Map<string, PickerNode>(
    pages.map((p) => [p.pageId, { id: p.pageId, title: titleOf(p), checked: picked.has(p.pageId), openable: false, children: [] }]),
  );
  const roots: PickerNode[] = [];
  for (const page of pages) {
    const node = nodes.get(page.pageId)!;
    const parent = page.parentId !== null && page.parentId !== page.pageId ? nodes.get(page.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  // A parent cycle (never from Notion, but the index is data) would hide its pages: put them at the top.
  const reached = new Set(flatten(roots));
  for (const page of pages) {
    if (reached.has(page.pageId)) continue;
    const node = nodes.get(page.pageId)!;
    const parent = nodes.get(page.parentId!)!;
    parent.children = parent.children.filter((c) => c !== node);
    roots.push(node);
    for (const id of flatten([node])) reached.add(id);
  }
  return roots;
}

function flatten(nodes: PickerNode[]): string[] {
  const ids: string[] = [];
  const seen = new Set<string>();
  const visit = (list: PickerNode[]) => {
    for (const node of list) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      ids.push(node.id);
      visit(node.children);
    }
  };
  visit(nodes);
  return ids;
}

/** The ticks after a post: earlier ticks on other screens stay; on the screen just posted, exactly what was ticked. */
export function mergePicks(earlier: readonly string[], shown: readonly string[], ticked: readonly string[]): string[] {
  const shownSet = new Set(shown);
  return [...new Set([...earlier.filter((id) => !shownSet.has(id)), ...ticked])];
}
