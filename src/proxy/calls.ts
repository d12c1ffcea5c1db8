/**
 * The proxy's rules, one per endpoint, after the token, the endpoint and the
 * capability were checked (routes.ts): scope before forwarding (writes,
 * lists of an object's children) or from Notion's fresh answer (single
 * reads), lists filtered with working cursors, answers shaped (users by
 * level, out-of-scope references without titles).
 *
 * Lists of an object's children (block children, database and data source
 * queries, comments of a block) need no filtering: a page grants its
 * descendants, so the children of an in-scope object are in scope. Search
 * and users list are filtered (filter.ts).
 */
import { APIErrorCode, isNotionClientError, type Client } from '@notionhq/client';
import { shapeOwnerUser } from '../oauth/token-answer.js';
import { userInfoLevelOf, type UserInfoLevel } from '../oauth/capabilities.js';
import { ConnectionBroken } from '../upstream/credentials.js';
import { UpstreamRateLimited, type UpstreamGateway } from '../upstream/gateway.js';
import type { TokenScope } from './authenticate.js';
import { NotionError, objectNotFound, restricted, validationError, type ObjectKind } from './errors.js';
import { normaliseNotionId, type Endpoint, type MatchedCall } from './endpoints.js';
import { filteredPage, parsePageSize, type UpstreamList } from './filter.js';
import { parentLink, ScopeResolver, type ParentLink, type ScopeDeps } from './scope.js';
import { collectReferences, shapeAnswer } from './shape.js';

type Json = Record<string, unknown>;

export interface CallDeps {
  gateway: UpstreamGateway;
  scope: Omit<ScopeDeps, 'lookupParent'>;
  /** The grant's own bot for users.me: app name, workspace name, the person's Notion user. */
  describeBot: (scope: TokenScope) => Promise<{ appName: string; workspaceName: string | null; notionUser: Record<string, unknown> }>;
}

export interface ProxyCall {
  scope: TokenScope;
  matched: MatchedCall;
  notionVersion: string;
  query: Record<string, string | string[]>;
  body: Json;
}

/** Mentions checked per answer at most; beyond, a mentioned page not already known is treated as out of scope. */
const MAX_MENTION_CHECKS = 50;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function runCall(deps: CallDeps, call: ProxyCall): Promise<unknown> {
  const { scope, matched, notionVersion } = call;
  const level = userInfoLevelOf(scope.capabilities);
  const base = { connectionId: scope.upstreamConnectionId, workspaceId: scope.workspaceId, partnerKey: scope.appId };
  // The connection read with the token serves the call's first upstream request; later ones read it again
  // (a refresh or a disconnect may have happened meanwhile).
  let preloaded = scope.connection;
  const target = () => {
    const connection = preloaded;
    preloaded = undefined;
    return connection ? { ...base, connection } : base;
  };
  const upstream = <T>(fn: (client: Client) => Promise<T>) => deps.gateway.call({ ...target(), notionVersion }, fn);
  const forward = (path: string, method: Endpoint['method'], query?: Record<string, string | string[]>, body?: Json) =>
    upstream((client) => client.request<Json>({ path, method: method.toLowerCase() as 'get', query, body }));

  /** An object's parent as Notion names it; undefined when Notion does not know the object. */
  const parentFromNotion = async (path: string): Promise<ParentLink | null | undefined> => {
    try {
      // Gatehouse's own lookups use its configured Notion-Version (2025-09-03: data sources, and a row's data source).
      const answer = await deps.gateway.call(target(), (client) => client.request<Json>({ path, method: 'get' }));
      return parentLink(answer.parent);
    } catch (err) {
      if (isNotionClientError(err) && 'status' in err && (err.status === 404 || err.status === 400)) return undefined;
      throw err;
    }
  };
  const lookupParent = async (id: string, kind: ObjectKind): Promise<ParentLink | null | undefined> => {
    if (kind !== 'page' && kind !== 'block' && kind !== 'database' && kind !== 'data_source') return undefined;
    return parentFromNotion(kind === 'data_source' ? `data_sources/${id}` : `blocks/${id}`);
  };
  const lookupRowParent = (id: string) => parentFromNotion(`pages/${id}`);
  const resolver = new ScopeResolver({ ...deps.scope, lookupParent, lookupRowParent }, scope.upstreamConnectionId, scope.pageIds);
  const { endpoint, params, upstreamPath } = matched;
  const targetId = endpoint.target ? params[endpoint.target.param]! : null;

  const notFound = (kind: ObjectKind, id: string) => objectNotFound(kind, id);
  /** Upstream failures in Notion's shape; a target Notion does not know answers exactly as an out-of-scope one. */
  const run = async <T>(work: () => Promise<T>, missing?: { kind: ObjectKind; id: string }): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw upstreamError(err, missing);
    }
  };

  if (endpoint.target?.check === 'before') {
    const { kind } = endpoint.target;
    if (!(await run(() => resolver.inScope(targetId!, kind)))) throw notFound(kind, targetId!);
  }
  await checkBodyReferences(call.body, resolver, run);

  let answer: unknown;
  switch (endpoint.name) {
    case 'users.me':
      return ownBot(deps, scope, level);

    case 'users.retrieve': {
      const id = params.user_id!;
      if (id === scope.grantId) return ownBot(deps, scope, level);
      const user = await run(() => forward(upstreamPath, 'GET'), { kind: 'user', id });
      // Bots are Gatehouse's own upstream integrations (or other integrations'): never shown.
      if (user.type === 'bot') throw notFound('user', id);
      answer = user;
      break;
    }

    case 'users.list': {
      const page = await run(() =>
        filteredPage<Json>({
          pageSize: parsePageSize(call.query.page_size),
          startCursor: call.query.start_cursor,
          fetch: (cursor, size) =>
            forward('users', 'GET', { page_size: String(size), ...(cursor ? { start_cursor: cursor } : {}) }) as Promise<
              UpstreamList<Json> & Json
            >,
          keep: async (users) => users.map((u) => u.type !== 'bot'),
        }),
      );
      answer = { object: 'list', results: page.results, next_cursor: page.next_cursor, has_more: page.has_more, type: 'user', user: {} };
      break;
    }

    case 'search': {
      const body = call.body;
      const envelope: Json = {};
      const page = await run(() =>
        filteredPage<Json>({
          pageSize: parsePageSize(body.page_size),
          startCursor: body.start_cursor,
          fetch: async (cursor, size) => {
            const upstreamBody: Json = { page_size: size };
            for (const key of ['query', 'filter', 'sort'] as const) if (body[key] !== undefined) upstreamBody[key] = body[key];
            if (cursor) upstreamBody.start_cursor = cursor;
            const list = await forward('search', 'POST', undefined, upstreamBody);
            for (const key of ['type', 'page_or_data_source', 'request_status'])
              if (key in list && !(key in envelope)) envelope[key] = list[key];
            return list as UpstreamList<Json> & Json;
          },
          keep: async (results) => {
            const verdicts: boolean[] = [];
            for (const result of results) {
              const id = typeof result.id === 'string' ? result.id : '';
              verdicts.push(id !== '' && resolver.covers(id, await resolver.learn(id, parentLink(result.parent), false)));
            }
            return verdicts;
          },
        }),
      );
      answer = {
        object: 'list',
        results: page.results,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
        type: 'page_or_data_source',
        page_or_data_source: {},
        ...envelope,
      };
      break;
    }

    // A move's new parent is checked as a new page's: both must lie inside the grant.
    case 'pages.move':
    case 'pages.create': {
      const parent = call.body.parent;
      if (!isObject(parent)) throw validationError('body.parent should be an object.');
      const field = (['page_id', 'database_id', 'data_source_id'] as const).find((key) => typeof parent[key] === 'string');
      // Top-level pages are outside every grant (a grant is picked pages and what lies below them).
      if (!field)
        throw new NotionError(
          403,
          'restricted_resource',
          'This integration may create pages only inside the pages shared with it.',
          'out_of_scope',
        );
      const id = normaliseNotionId(String(parent[field]));
      if (!id) throw validationError(`body.parent.${field} should be a valid uuid, instead was \`${JSON.stringify(parent[field])}\`.`);
      const kind: ObjectKind = field === 'page_id' ? 'page' : field === 'database_id' ? 'database' : 'data_source';
      if (!(await run(() => resolver.inScope(id, kind)))) throw notFound(kind, id);
      const body = { ...call.body, parent: { ...parent, [field]: id } };
      const page = await run(() => forward(upstreamPath, 'POST', undefined, body), { kind, id });
      if (typeof page.id === 'string') await run(() => resolver.learn(page.id as string, parentLink(page.parent), false));
      answer = page;
      break;
    }

    case 'comments.list': {
      const blockId = normaliseNotionId(typeof call.query.block_id === 'string' ? call.query.block_id : '');
      if (!blockId) throw validationError(`query.block_id should be a valid uuid, instead was \`${JSON.stringify(call.query.block_id)}\`.`);
      if (!(await run(() => resolver.inScope(blockId, 'block')))) throw notFound('block', blockId);
      const list = await run(() => forward(upstreamPath, 'GET', { ...call.query, block_id: blockId }), { kind: 'block', id: blockId });
      // Discussions seen here can be replied to (their parent is known to be in scope).
      const discussions = Array.isArray(list.results)
        ? (list.results as Json[]).map((c) => c.discussion_id).filter((d): d is string => typeof d === 'string')
        : [];
      for (const discussion of new Set(discussions)) await run(() => resolver.learn(discussion, blockId, false));
      answer = list;
      break;
    }

    case 'comments.create': {
      const body = { ...call.body };
      if (typeof body.discussion_id === 'string') {
        const id = normaliseNotionId(body.discussion_id);
        if (!id) throw validationError('body.discussion_id should be a valid uuid.');
        if (!(await run(() => resolver.inScope(id, 'discussion')))) throw notFound('discussion', id);
        body.discussion_id = id;
      } else if (isObject(body.parent) && (typeof body.parent.page_id === 'string' || typeof body.parent.block_id === 'string')) {
        const field = typeof body.parent.page_id === 'string' ? 'page_id' : 'block_id';
        const id = normaliseNotionId(String(body.parent[field]));
        if (!id) throw validationError(`body.parent.${field} should be a valid uuid.`);
        const kind: ObjectKind = field === 'page_id' ? 'page' : 'block';
        if (!(await run(() => resolver.inScope(id, kind)))) throw notFound(kind, id);
        body.parent = { ...body.parent, [field]: id };
      } else {
        throw validationError('body should have a parent (page_id or block_id) or a discussion_id.');
      }
      const comment = await run(() => forward(upstreamPath, 'POST', undefined, body));
      const parent = isObject(comment.parent) ? parentLink(comment.parent) : undefined;
      if (typeof comment.discussion_id === 'string' && parent)
        await run(() => resolver.learn(comment.discussion_id as string, parent, false));
      answer = comment;
      break;
    }

    default: {
      // Single objects and children lists: forward the rebuilt path.
      const missing = endpoint.target ? { kind: endpoint.target.kind, id: targetId! } : undefined;
      // The target's cached chain is read while Notion answers (a failed cache read is only a miss).
      const warm = endpoint.target?.check === 'after' ? resolver.prefetch([targetId!]).catch(() => undefined) : undefined;
      const result = await run(() => forward(upstreamPath, endpoint.method, call.query, endpoint.body ? call.body : undefined), missing);
      await warm;
      if (endpoint.target?.check === 'after') {
        const chain = await run(() => resolver.learn(targetId!, parentLink(result.parent), true));
        if (!resolver.covers(targetId!, chain)) throw notFound(endpoint.target.kind, targetId!);
      }
      answer = result;
    }
  }

  await run(() => shapeReferences(answer, resolver, level));
  return answer;
}

/** Bodies must not pull content from outside the scope: templates and synced-block originals must be in scope. */
async function checkBodyReferences(body: Json, resolver: ScopeResolver, run: <T>(work: () => Promise<T>) => Promise<T>): Promise<void> {
  const refs: Array<{ id: string; kind: ObjectKind }> = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 50 || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) return value.forEach((v) => visit(v, depth + 1));
    const node = value as Json;
    if (typeof node.template_id === 'string') refs.push({ id: node.template_id, kind: 'page' });
    if (isObject(node.synced_from) && typeof node.synced_from.block_id === 'string')
      refs.push({ id: node.synced_from.block_id, kind: 'block' });
    for (const child of Object.values(node)) visit(child, depth + 1);
  };
  visit(body, 0);
  for (const ref of refs) {
    const id = normaliseNotionId(ref.id);
    if (!id) throw validationError(`${ref.kind === 'page' ? 'template_id' : 'synced_from.block_id'} should be a valid uuid.`);
    if (!(await run(() => resolver.inScope(id, ref.kind)))) throw objectNotFound(ref.kind, id);
  }
}

async function shapeReferences(answer: unknown, resolver: ScopeResolver, level: UserInfoLevel): Promise<void> {
  const refs = collectReferences(answer);
  const outOfScope = new Set<string>();
  for (const child of refs.childBlocks) {
    if (!resolver.covers(child.id, await resolver.learn(child.id, parentLink(child.parent), false))) outOfScope.add(child.id);
  }
  const mentioned = [...refs.mentioned];
  await resolver.prefetch(mentioned);
  for (const [index, id] of mentioned.entries()) {
    if (index >= MAX_MENTION_CHECKS) outOfScope.add(id);
    else if (!(await resolver.inScope(id, 'page'))) outOfScope.add(id);
  }
  shapeAnswer(answer, { level, outOfScope });
}

async function ownBot(deps: CallDeps, scope: TokenScope, level: UserInfoLevel): Promise<Json> {
  const about = await deps.describeBot(scope);
  const owner = shapeOwnerUser(about.notionUser, [level]);
  return {
    object: 'user',
    id: scope.grantId,
    name: about.appName,
    avatar_url: null,
    type: 'bot',
    bot: { owner: { type: 'user', user: owner }, workspace_id: scope.workspaceId, workspace_name: about.workspaceName },
  };
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (isObject(headers)) {
    const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
    return typeof found?.[1] === 'string' ? found[1] : undefined;
  }
  return undefined;
}

/** Maps what the gateway or Notion threw to Notion's shape for the partner. */
export function upstreamError(err: unknown, missing?: { kind: ObjectKind; id: string }): unknown {
  if (err instanceof NotionError) return err;
  if (err instanceof UpstreamRateLimited) {
    return new NotionError(429, 'rate_limited', 'You have been rate limited. Please try again in a few minutes.', 'rate_limited', {
      'Retry-After': String(Math.max(1, Math.ceil(err.retryAfterSeconds))),
    });
  }
  if (err instanceof ConnectionBroken) {
    return new NotionError(
      401,
      'unauthorized',
      "The person's Notion connection no longer works; they must reconnect it in Gatehouse.",
      'connection_broken',
    );
  }
  if (isNotionClientError(err)) {
    if (err.code === 'notionhq_client_request_timeout') return new NotionError(504, 'gateway_timeout', 'Notion did not answer in time.');
    if (!('status' in err)) return new NotionError(502, 'bad_gateway', "Notion's answer could not be read.");
    if (err.status === 404 && missing) return objectNotFound(missing.kind, missing.id);
    if (err.code === APIErrorCode.Unauthorized)
      return new NotionError(
        401,
        'unauthorized',
        "The person's Notion connection no longer works; they must reconnect it in Gatehouse.",
        'connection_broken',
      );
    if (err.status === 429) {
      return new NotionError(429, 'rate_limited', 'You have been rate limited. Please try again in a few minutes.', 'rate_limited', {
        'Retry-After': headerValue(err.headers, 'retry-after') ?? '1',
      });
    }
    if (err.code === APIErrorCode.RestrictedResource) return restricted();
    // Notion's own refusal (validation, conflict, ...): passed through in its words.
    const known = err.code !== 'notionhq_client_response_error';
    return new NotionError(
      err.status,
      known ? err.code : err.status >= 500 ? 'bad_gateway' : 'invalid_request',
      known ? err.message : 'Notion refused the request.',
    );
  }
  return err;
}
