/**
 * The page picker's view model, read from the person's own page index (never
 * Notion: the picker must not spend Notion's small rate limit).
 *
 * It stays quick on 10,000 pages: a small index (up to FULL_TREE_LIMIT pages)
 * is shown as one nested tree, every group open, so every checkbox is
 * visible; a larger one shows its top-level pages PAGE_SIZE at a time, each
 * group folded, its children loaded when it is opened (a fragment from
 * picker-routes.ts, or without JavaScript the consent page again with that
 * page opened, PAGE_SIZE children at a time). A search is a flat list of at
 * most PAGE_SIZE matches, each with the titles of its parents. Only ticked
 * boxes are posted, and a person may pick at most MAX_PICKED_PAGES pages.
 */
import type { IndexedPage, PageIndexStore } from '../store/page-index.js';

export const FULL_TREE_LIMIT = 500;
/** How many parents a search result's path names, nearest last (deeper ones are elided). */
export const PATH_DEPTH = 6;
export const PAGE_SIZE = 50;

export interface PickerNode {
  id: string;
  title: string;
  checked: boolean;
  /** Paged mode: the page has children not shown here; offer to open it. */
  openable: boolean;
  children: PickerNode[];
  /** `search`: the titles of the page's parents, outermost first. */
  path: string[];
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
  /** Picked pages that have no checkbox on this screen (the live count adds the ticked boxes to it). */
  pickedElsewhere: number;
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
  const view = await buildScreen(pageIndex, connectionId, request, picked, total);
  const shown = new Set(view.shownIds);
  return { ...view, pickedElsewhere: [...picked].filter((id) => !shown.has(id)).length };
}

const leafOf =
  (picked: ReadonlySet<string>) =>
  (page: IndexedPage, openable = false): PickerNode => ({
    id: page.pageId,
    title: titleOf(page),
    checked: picked.has(page.pageId),
    openable,
    children: [],
    path: [],
  });

/** Each page, marked openable when it has children in the index (one query for all the pages shown). */
function withOpenable(pageIndex: PageIndexStore, connectionId: string, picked: ReadonlySet<string>) {
  const leaf = leafOf(picked);
  return async (pages: IndexedPage[]) => {
    const parents = await pageIndex.withChildren(
      connectionId,
      pages.map((p) => p.pageId),
    );
    return pages.map((p) => leaf(p, parents.has(p.pageId)));
  };
}

async function buildScreen(
  pageIndex: PageIndexStore,
  connectionId: string,
  request: PickerRequest,
  picked: ReadonlySet<string>,
  total: number,
): Promise<Omit<PickerView, 'pickedElsewhere'>> {
  const base = { query: request.query, parent: null, offset: 0, hasPrevious: false, hasNext: false, truncated: false, total };
  const leaf = leafOf(picked);

  if (request.query !== '') {
    const found = await pageIndex.search(connectionId, request.query, PAGE_SIZE + 1);
    const shown = found.slice(0, PAGE_SIZE);
    const paths = await pathsOf(pageIndex, connectionId, shown);
    const nodes = shown.map((p) => ({ ...leaf(p), path: paths.get(p.pageId) ?? [] }));
    return { ...base, mode: 'search', truncated: found.length > PAGE_SIZE, nodes, shownIds: nodes.map((n) => n.id) };
  }

  if (total <= FULL_TREE_LIMIT) {
    const nodes = nestTree(await pageIndex.listAll(connectionId, FULL_TREE_LIMIT), picked);
    return { ...base, mode: 'tree', nodes, shownIds: flatten(nodes) };
  }

  const offset = Math.max(0, request.offset);
  const openable = withOpenable(pageIndex, connectionId, picked);
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

export interface ChildrenView {
  parent: { id: string; title: string };
  nodes: PickerNode[];
  /** More children than are shown: the consent page itself lists them, PAGE_SIZE at a time. */
  hasMore: boolean;
}

/** One folded group's children, for the fragment a picker loads when the group is opened; null when the parent is not in the index. */
export async function buildChildren(
  pageIndex: PageIndexStore,
  connectionId: string,
  parentId: string,
  picked: ReadonlySet<string>,
): Promise<ChildrenView | null> {
  const parent = await pageIndex.get(connectionId, parentId);
  if (!parent) return null;
  const page = await pageIndex.children(connectionId, parent.pageId, PAGE_SIZE + 1, 0);
  const nodes = await withOpenable(pageIndex, connectionId, picked)(page.slice(0, PAGE_SIZE));
  return { parent: { id: parent.pageId, title: titleOf(parent) }, nodes, hasMore: page.length > PAGE_SIZE };
}

/**
 * The titles of each page's parents, outermost first, read from the index in
 * one query (the pages' ancestors up to PATH_DEPTH levels). A parent outside
 * the index ends the path; a longer one starts with "…".
 */
export async function pathsOf(pageIndex: PageIndexStore, connectionId: string, pages: IndexedPage[]): Promise<Map<string, string[]>> {
  const parentIds = [...new Set(pages.map((p) => p.parentId).filter((id): id is string => id !== null))];
  const known = await pageIndex.withAncestors(connectionId, parentIds, PATH_DEPTH - 1);
  const paths = new Map<string, string[]>();
  for (const page of pages) {
    const path: string[] = [];
    let parentId = page.parentId;
    let previous = page.pageId;
    // A parent cycle (the index is data) ends at PATH_DEPTH.
    while (parentId !== null && parentId !== previous && path.length < PATH_DEPTH) {
      const parent = known.get(parentId);
      if (!parent) {
        parentId = null;
        break;
      }
      path.unshift(titleOf(parent));
      previous = parent.pageId;
      parentId = parent.parentId;
    }
    if (parentId !== null && parentId !== previous) path.unshift('…');
    paths.set(page.pageId, path);
  }
  return paths;
}

/** Children under their parents; a page whose parent is not in the index is at the top, as in Notion's own picker. */
export function nestTree(pages: IndexedPage[], picked: ReadonlySet<string>): PickerNode[] {
  const nodes = new Map<string, PickerNode>(
    pages.map((p) => [
      p.pageId,
      { id: p.pageId, title: titleOf(p), checked: picked.has(p.pageId), openable: false, children: [], path: [] },
    ]),
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
