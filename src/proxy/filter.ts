/**
 * Lists filtered to what is in scope, with pagination that still works:
 * Gatehouse fetches upstream pages (always 100 long, so positions in them
 * are stable) until it holds `page_size` kept items or Notion is exhausted,
 * and answers its own cursor: the upstream cursor of the page to resume and
 * how many of its items were already consumed. `has_more` is true whenever
 * a kept item is known to follow, or Notion has more that was not examined.
 */
import { validationError } from './errors.js';

export const UPSTREAM_PAGE_SIZE = 100;
/** Upstream pages read for one partner page at most (bounds latency and the rate budget). */
const MAX_UPSTREAM_PAGES = 10;

export interface UpstreamList<T> {
  results: T[];
  next_cursor: string | null;
  has_more: boolean;
}

interface Position {
  /** Upstream cursor of the page to read (null = the first page). */
  upstream: string | null;
  /** Items of that page already consumed. */
  skip: number;
}

const CURSOR_PREFIX = 'gh1.';

export function encodeCursor(position: Position): string {
  return CURSOR_PREFIX + Buffer.from(JSON.stringify([position.upstream, position.skip]), 'utf8').toString('base64url');
}

/** A cursor this proxy gave out, or 400 validation_error as Notion answers a bad start_cursor. */
export function decodeCursor(raw: unknown): Position {
  if (raw === undefined || raw === null || raw === '') return { upstream: null, skip: 0 };
  const invalid = () => validationError('The start_cursor provided is invalid.');
  if (typeof raw !== 'string' || !raw.startsWith(CURSOR_PREFIX) || raw.length > 1000) throw invalid();
  try {
    const value = JSON.parse(Buffer.from(raw.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) throw invalid();
    const [upstream, skip] = value as [unknown, unknown];
    if (!(upstream === null || (typeof upstream === 'string' && upstream.length <= 500))) throw invalid();
    if (typeof skip !== 'number' || !Number.isInteger(skip) || skip < 0 || skip > UPSTREAM_PAGE_SIZE) throw invalid();
    return { upstream, skip };
  } catch {
    throw invalid();
  }
}

/** Notion's page_size: 1 to 100, default 100. */
export function parsePageSize(raw: unknown): number {
  if (raw === undefined || raw === null) return 100;
  const size = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : raw;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw validationError('page_size should be a positive integer.');
  if (size > 100) throw validationError(`page_size should be ≤ \`100\`, instead was \`${size}\`.`);
  return size;
}

export async function filteredPage<T>(args: {
  pageSize: number;
  startCursor: unknown;
  fetch: (upstreamCursor: string | null, pageSize: number) => Promise<UpstreamList<T>>;
  /** Which items of one upstream page to keep (in order). */
  keep: (items: T[]) => Promise<boolean[]>;
}): Promise<{ results: T[]; next_cursor: string | null; has_more: boolean }> {
  let position = decodeCursor(args.startCursor);
  const kept: T[] = [];
  for (let reads = 0; reads < MAX_UPSTREAM_PAGES; reads += 1) {
    const page = await args.fetch(position.upstream, UPSTREAM_PAGE_SIZE);
    const verdicts = await args.keep(page.results.slice(position.skip));
    for (let i = position.skip; i < page.results.length; i += 1) {
      if (!verdicts[i - position.skip]) continue;
      if (kept.length === args.pageSize) {
        // One more kept item follows: resume exactly there.
        const next = encodeCursor({ upstream: position.upstream, skip: i });
        return { results: kept, next_cursor: next, has_more: true };
      }
      kept.push(page.results[i]!);
    }
    if (!page.has_more || page.next_cursor === null) return { results: kept, next_cursor: null, has_more: false };
    position = { upstream: page.next_cursor, skip: 0 };
    if (kept.length === args.pageSize) break;
  }
  // Notion has more that was not examined (or the read bound was reached).
  return { results: kept, next_cursor: encodeCursor(position), has_more: true };
}
