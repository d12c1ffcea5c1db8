/**
 * The allow-list: every Notion endpoint the proxy answers, as method + path
 * pattern, the capability it needs (Notion's capability model),
 * the query parameters it may forward and where its scope check happens.
 *
 * A request is matched on its raw path (before any decoding), its ids are
 * validated as Notion ids and normalised, and the upstream path is rebuilt
 * from the endpoint and those ids: a raw path is never forwarded, so `..`,
 * encoded slashes or ids of another shape cannot reach another upstream URL.
 */
import { invalidRequestUrl, type ObjectKind } from './errors.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type ContentCapability = 'read_content' | 'update_content' | 'insert_content' | 'read_comments' | 'insert_comments';

export type EndpointName =
  | 'users.me'
  | 'users.list'
  | 'users.retrieve'
  | 'search'
  | 'pages.retrieve'
  | 'pages.create'
  | 'pages.update'
  | 'pages.move'
  | 'pages.property'
  | 'blocks.retrieve'
  | 'blocks.children.list'
  | 'blocks.children.append'
  | 'blocks.update'
  | 'blocks.delete'
  | 'databases.retrieve'
  | 'databases.query'
  | 'data_sources.retrieve'
  | 'data_sources.query'
  | 'comments.list'
  | 'comments.create';

export interface Endpoint {
  name: EndpointName;
  method: Method;
  /** Literal segments, `:name` for a Notion id, `*name` for an opaque segment (a property id). */
  segments: readonly string[];
  /** Content capability needed; 'user_info' = any user-information level but none; null = any token. */
  capability: ContentCapability | 'user_info' | null;
  /** Query parameters forwarded (all others are dropped). */
  query: readonly string[];
  /** Takes a JSON body. */
  body: boolean;
  /** Top-level body fields accepted (Notion's own lists, from @notionhq/client's endpoint definitions); others are refused. */
  bodyKeys?: readonly string[];
  /**
   * The object whose scope decides the call: checked `before` forwarding
   * (writes, and lists of an object's children) or `after` from the parent
   * in Notion's own answer (single reads: fresh, and spends no extra call).
   */
  target?: { param: string; kind: ObjectKind; check: 'before' | 'after' };
}

const PAGE = ['start_cursor', 'page_size'] as const;
const QUERY_BODY = ['archived', 'sorts', 'filter', 'start_cursor', 'page_size', 'in_trash', 'result_type'] as const;

export const ENDPOINTS: readonly Endpoint[] = [
  { name: 'users.me', method: 'GET', segments: ['users', 'me'], capability: null, query: [], body: false },
  { name: 'users.list', method: 'GET', segments: ['users'], capability: 'user_info', query: PAGE, body: false },
  { name: 'users.retrieve', method: 'GET', segments: ['users', ':user_id'], capability: 'user_info', query: [], body: false },
  {
    name: 'search',
    method: 'POST',
    segments: ['search'],
    capability: 'read_content',
    query: [],
    body: true,
    bodyKeys: ['sort', 'query', 'start_cursor', 'page_size', 'filter'],
  },
  {
    name: 'pages.create',
    method: 'POST',
    segments: ['pages'],
    capability: 'insert_content',
    query: [],
    body: true,
    bodyKeys: ['parent', 'properties', 'icon', 'cover', 'content', 'children', 'markdown', 'template', 'position'],
  },
  {
    name: 'pages.retrieve',
    method: 'GET',
    segments: ['pages', ':page_id'],
    capability: 'read_content',
    query: ['filter_properties'],
    body: false,
    target: { param: 'page_id', kind: 'page', check: 'after' },
  },
  {
    name: 'pages.update',
    method: 'PATCH',
    segments: ['pages', ':page_id'],
    capability: 'update_content',
    query: ['filter_properties'],
    body: true,
    bodyKeys: ['archived', 'properties', 'icon', 'cover', 'is_locked', 'template', 'erase_content', 'in_trash', 'is_archived'],
    target: { param: 'page_id', kind: 'page', check: 'before' },
  },
  {
    // Notion's "Move a page": the page and its new parent (checked in the rule) must both be in scope.
    name: 'pages.move',
    method: 'POST',
    segments: ['pages', ':page_id', 'move'],
    capability: 'update_content',
    query: [],
    body: true,
    bodyKeys: ['parent'],
    target: { param: 'page_id', kind: 'page', check: 'before' },
  },
  {
    name: 'pages.property',
    method: 'GET',
    segments: ['pages', ':page_id', 'properties', '*property_id'],
    capability: 'read_content',
    query: PAGE,
    body: false,
    target: { param: 'page_id', kind: 'page', check: 'before' },
  },
  {
    name: 'blocks.retrieve',
    method: 'GET',
    segments: ['blocks', ':block_id'],
    capability: 'read_content',
    query: [],
    body: false,
    target: { param: 'block_id', kind: 'block', check: 'after' },
  },
  {
    name: 'blocks.update',
    method: 'PATCH',
    segments: ['blocks', ':block_id'],
    capability: 'update_content',
    query: [],
    body: true,
    target: { param: 'block_id', kind: 'block', check: 'before' },
  },
  {
    name: 'blocks.delete',
    method: 'DELETE',
    segments: ['blocks', ':block_id'],
    capability: 'update_content',
    query: [],
    body: false,
    target: { param: 'block_id', kind: 'block', check: 'before' },
  },
  {
    name: 'blocks.children.list',
    method: 'GET',
    segments: ['blocks', ':block_id', 'children'],
    capability: 'read_content',
    query: PAGE,
    body: false,
    target: { param: 'block_id', kind: 'block', check: 'before' },
  },
  {
    name: 'blocks.children.append',
    method: 'PATCH',
    segments: ['blocks', ':block_id', 'children'],
    capability: 'insert_content',
    query: [],
    body: true,
    bodyKeys: ['after', 'children', 'position'],
    target: { param: 'block_id', kind: 'block', check: 'before' },
  },
  {
    name: 'databases.retrieve',
    method: 'GET',
    segments: ['databases', ':database_id'],
    capability: 'read_content',
    query: [],
    body: false,
    target: { param: 'database_id', kind: 'database', check: 'after' },
  },
  {
    name: 'databases.query',
    method: 'POST',
    segments: ['databases', ':database_id', 'query'],
    capability: 'read_content',
    query: ['filter_properties'],
    body: true,
    bodyKeys: QUERY_BODY,
    target: { param: 'database_id', kind: 'database', check: 'before' },
  },
  {
    name: 'data_sources.retrieve',
    method: 'GET',
    segments: ['data_sources', ':data_source_id'],
    capability: 'read_content',
    query: [],
    body: false,
    target: { param: 'data_source_id', kind: 'data_source', check: 'after' },
  },
  {
    name: 'data_sources.query',
    method: 'POST',
    segments: ['data_sources', ':data_source_id', 'query'],
    capability: 'read_content',
    query: ['filter_properties'],
    body: true,
    bodyKeys: QUERY_BODY,
    target: { param: 'data_source_id', kind: 'data_source', check: 'before' },
  },
  // comments.list's block_id comes from the query string: checked in the rule.
  { name: 'comments.list', method: 'GET', segments: ['comments'], capability: 'read_comments', query: ['block_id', ...PAGE], body: false },
  {
    name: 'comments.create',
    method: 'POST',
    segments: ['comments'],
    capability: 'insert_comments',
    query: [],
    body: true,
    bodyKeys: ['attachments', 'display_name', 'parent', 'rich_text', 'markdown', 'discussion_id'],
  },
];

const HEX32 = /^[0-9a-f]{32}$/;
const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A Notion id (32 hex digits, bare or in the 8-4-4-4-12 layout) in its dashed lower-case form; null for any other shape. */
export function normaliseNotionId(raw: string): string | null {
  const value = raw.toLowerCase();
  let hex: string;
  if (HEX32.test(value)) hex = value;
  else if (DASHED.test(value)) hex = value.replace(/-/g, '');
  else return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Literal segments and ids: letters, digits, `_` and `-` only (so no `%2F`, `%2E`, `.` or `..`). */
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
/** A property id: Notion's are short and percent-encoded (e.g. `%3AdsA`); decoded, they must stay one segment. */
const OPAQUE_SEGMENT = /^(?:[A-Za-z0-9_~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){1,100}$/;

export interface MatchedCall {
  endpoint: Endpoint;
  /** Normalised ids and decoded opaque segments, by parameter name. */
  params: Record<string, string>;
  /** The upstream path for @notionhq/client's `request` (no `/v1/` prefix), rebuilt from the endpoint. */
  upstreamPath: string;
}

/**
 * Matches a raw request path (`/v1/...`, query string removed) and method to
 * one endpoint, or throws 400 invalid_request_url as Notion does.
 */
export function matchEndpoint(method: string, rawPath: string): MatchedCall {
  if (!rawPath.startsWith('/v1/')) throw invalidRequestUrl();
  const parts = rawPath.slice(4).split('/');
  for (const endpoint of ENDPOINTS) {
    if (endpoint.method !== method || endpoint.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const rebuilt: string[] = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i += 1) {
      const pattern = endpoint.segments[i]!;
      const part = parts[i]!;
      if (pattern.startsWith(':')) {
        const id = PLAIN_SEGMENT.test(part) ? normaliseNotionId(part) : null;
        if (id === null) ok = false;
        else {
          params[pattern.slice(1)] = id;
          rebuilt.push(id);
        }
      } else if (pattern.startsWith('*')) {
        const decoded = OPAQUE_SEGMENT.test(part) ? safeDecode(part) : null;
        if (decoded === null || /[/\\?#\u0000-\u001f]/.test(decoded) || decoded === '.' || decoded === '..') ok = false;
        else {
          params[pattern.slice(1)] = decoded;
          rebuilt.push(encodeURIComponent(decoded));
        }
      } else if (pattern === part) {
        rebuilt.push(pattern);
      } else {
        ok = false;
      }
    }
    if (ok) return { endpoint, params, upstreamPath: rebuilt.join('/') };
  }
  throw invalidRequestUrl();
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/** The query string, reduced to the endpoint's allow-list; values must be plain strings (or, repeated, a list of them). */
export function allowedQuery(endpoint: Endpoint, query: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of endpoint.query) {
    const value = query[name];
    if (typeof value === 'string' && value.length <= 1000) out[name] = value;
    else if (Array.isArray(value) && value.length <= 100 && value.every((v) => typeof v === 'string' && v.length <= 1000))
      out[name] = value as string[];
  }
  return out;
}
