/**
 * Paging and search for the console's tables, as plain links and GET forms
 * so they work without JavaScript: each list reads its own search text and
 * page number from the query (`q`/`page`, or with a prefix such as
 * `approved_q`/`approved_page` when a page holds several lists), and every
 * link keeps the rest of the query, so a search stays on across pages.
 */
import type { Request } from 'express';

export const PAGE_SIZE = 25;
const MAX_PAGE = 100_000;

export interface ListQuery {
  q: string;
  page: number;
  limit: number;
  offset: number;
}

export interface Pager {
  /** "Page 2 of 7", or null when everything fits on one page. */
  label: string | null;
  total: number;
  previousHref: string | null;
  nextHref: string | null;
  /** What the search form keeps as hidden fields: every other query value. */
  hidden: Array<{ name: string; value: string }>;
  q: string;
  qName: string;
  /** The list without its search: "Show all". */
  clearHref: string | null;
}

const single = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;

/** A list's search and page from the query; a value out of shape is dropped, not refused (a link a person edited). */
export function listQuery(req: Request, prefix = '', pageSize = PAGE_SIZE): ListQuery {
  const q = (single(req.query[`${prefix}q`]) ?? '').trim().slice(0, 200);
  const raw = single(req.query[`${prefix}page`]);
  const page = raw && /^\d{1,6}$/.test(raw) ? Math.min(Math.max(1, Number(raw)), MAX_PAGE) : 1;
  return { q, page, limit: pageSize, offset: (page - 1) * pageSize };
}

/** The current query as pairs (string values only), for links that keep it. */
function currentQuery(req: Request): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(req.query)) {
    const value = single(v);
    if (value !== undefined && k !== 'notice' && k !== 'error') out.push([k, value]);
  }
  return out;
}

function hrefWith(path: string, pairs: Array<[string, string]>): string {
  const search = new URLSearchParams(pairs).toString();
  return search ? `${path}?${search}` : path;
}

/** Links and form fields for one list of `total` rows at `list.page`. */
export function pager(req: Request, path: string, list: ListQuery, total: number, prefix = ''): Pager {
  const pageName = `${prefix}page`;
  const qName = `${prefix}q`;
  const others = currentQuery(req).filter(([k]) => k !== pageName);
  const pages = Math.max(1, Math.ceil(total / list.limit));
  const to = (page: number) => hrefWith(path, [...others, ...(page > 1 ? [[pageName, String(page)] as [string, string]] : [])]);
  return {
    label: pages > 1 ? `Page ${Math.min(list.page, pages)} of ${pages}` : null,
    total,
    previousHref: list.page > 1 ? to(Math.min(list.page - 1, pages)) : null,
    nextHref: list.page < pages ? to(list.page + 1) : null,
    hidden: others.filter(([k]) => k !== qName).map(([name, value]) => ({ name, value })),
    q: list.q,
    qName,
    clearHref: list.q
      ? hrefWith(
          path,
          others.filter(([k]) => k !== qName),
        )
      : null,
  };
}
