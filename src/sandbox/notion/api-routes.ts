/**
 * The Notion API subset Gatehouse uses, on Notion's wire format. Each route:
 * parse, check capability, check reach, call one rule, answer. The checks run
 * in Notion's order: version (400), token (401), rate limit (429), capability
 * (403), reach (404).
 */
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import type {
  AppendBlockChildrenResponse,
  CommentObjectResponse,
  ListBlockChildrenResponse,
  ListCommentsResponse,
  ListUsersResponse,
  UserObjectResponse,
} from '@notionhq/client';
import { requireCapability, requireUserInfo, userInfoLevel } from './capabilities.js';
import {
  attachChild,
  insertBlocks,
  insertPage,
  isObject,
  liveChildren,
  parseBlocks,
  parseIcon,
  propertiesFromRequest,
  richTextFromRequest,
  setInTrash,
  updateBlockContent,
} from './content.js';
import { invalidRequestUrl, NotionApiError, objectNotFound, unauthorized, validationError } from './errors.js';
import { authenticateBearer } from './grants.js';
import { newId, normalizeId } from './ids.js';
import { propertyItemAnswer } from './property-items.js';
import { paginate, parseCursor, parsePageSize, queryDatabase, search } from './query.js';
import type { TokenBucketLimiter } from './rate-limit.js';
import { reachedBlock, reachedDatabase, reachedDataSource, reachedPage } from './reach.js';
import {
  NOTION_VERSIONS,
  schemaOfPage,
  serializeBlock,
  serializeBot,
  serializeComment,
  serializeDatabase,
  serializeDataSource,
  serializePage,
  serializePerson,
  serializePropertyValue,
} from './serialize.js';
import type { NotionVersion, View } from './serialize.js';
import type { CommentRecord, IntegrationRecord, ParentRef, StateStore } from './state.js';
import type { ContentEvents } from './webhook-events.js';

export interface ApiDeps {
  store: StateStore;
  publicUrl: string;
  clock: () => Date;
  limiter: TokenBucketLimiter;
  /** Webhook hooks: called after each change, before the answer. */
  events: ContentEvents;
  countApiCall: () => void;
}

interface Call {
  view: View;
  integration: IntegrationRecord;
  now: Date;
}

const call = (res: Response): Call => res.locals.sandboxNotionCall as Call;

/** A path id, with or without dashes, or 400 as Notion answers a malformed one. */
function pathId(raw: string | string[] | undefined, name: string): string {
  const value = Array.isArray(raw) ? raw[0] : (raw ?? '');
  const id = normalizeId(value);
  if (!id) throw validationError(`path failed validation: path.${name} should be a valid uuid, instead was \`${JSON.stringify(value)}\`.`);
  return id;
}

function body(req: Request): Record<string, unknown> {
  if (req.body === undefined || req.body === null) return {};
  if (!isObject(req.body)) throw validationError('body failed validation: body should be an object.');
  return req.body;
}

function requireVersion(version: NotionVersion, call: Call): void {
  if (call.view.version !== version) throw invalidRequestUrl();
}

export function apiRouter(deps: ApiDeps): Router {
  const router = Router();
  const { state } = deps.store;
  const changed = () => deps.store.changed();

  router.use((req: Request, res: Response, next: NextFunction) => {
    deps.countApiCall();
    const version = req.get('Notion-Version');
    if (version === undefined)
      throw new NotionApiError(
        400,
        'missing_version',
        'Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.',
      );
    if (!(NOTION_VERSIONS as readonly string[]).includes(version))
      throw validationError(
        `Notion-Version header failed validation: Notion-Version header should be one of ${NOTION_VERSIONS.map((v) => `"${v}"`).join(', ')}, instead was \`"${version}"\`.`,
      );
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '');
    if (!match) throw unauthorized();
    const now = deps.clock();
    const integration = authenticateBearer(state, match[1], now);
    const verdict = deps.limiter.take(`${integration.clientId ?? integration.botId}:${integration.workspaceId}`, now);
    if (!verdict.allowed)
      throw new NotionApiError(429, 'rate_limited', 'You have been rate limited. Please try again in a few minutes.', {
        'Retry-After': String(verdict.retryAfterSeconds),
      });
    const context: Call = { view: { state, publicUrl: deps.publicUrl, version: version as NotionVersion }, integration, now };
    res.locals.sandboxNotionCall = context;
    next();
  });

  // Users
  router.get('/users/me', (_req, res) => {
    const { view, integration } = call(res);
    const me: UserObjectResponse = serializeBot(view.state, integration, userInfoLevel(integration.capabilities));
    res.json(me);
  });

  router.get('/users', (req, res) => {
    const { integration } = call(res);
    requireUserInfo(integration.capabilities);
    const members = workspaceMembers(integration);
    const page = paginate(members, (u) => u.id, parseCursor(req.query.start_cursor, 'query'), parsePageSize(req.query.page_size, 'query'));
    const list: ListUsersResponse = { object: 'list', type: 'user', user: {}, ...page };
    res.json(list);
  });

  router.get('/users/:user_id', (req, res) => {
    const { integration } = call(res);
    requireUserInfo(integration.capabilities);
    const id = pathId(req.params.user_id, 'user_id');
    const user = workspaceMembers(integration).find((u) => u.id === id);
    if (!user) throw objectNotFound('user', id);
    res.json(user);
  });

  function workspaceMembers(integration: IntegrationRecord): UserObjectResponse[] {
    const level = userInfoLevel(integration.capabilities);
    const workspace = state.workspaces.find((w) => w.id === integration.workspaceId);
    const persons = state.persons.filter((p) => workspace?.memberIds.includes(p.id)).map((p) => serializePerson(p, level));
    return [...persons, serializeBot(state, integration, level)];
  }

  // Search
  router.post('/search', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    res.json(search(view, integration, body(req)));
  });

  // Pages
  router.get('/pages/:page_id', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    res.json(serializePage(view, reachedPage(state, integration, pathId(req.params.page_id, 'page_id'))));
  });

  router.post('/pages', (req, res) => {
    const { view, integration, now } = call(res);
    requireCapability(integration.capabilities, 'insert_content');
    const input = body(req);
    const parent = resolveNewPageParent(integration, input.parent);
    const schema =
      parent.type === 'database_id' ? state.databases[parent.id].properties : { title: { id: 'title', type: 'title' as const } };
    const properties = propertiesFromRequest(state, deps.publicUrl, schema, input.properties);
    const titleName = Object.entries(schema).find(([, s]) => s.type === 'title')?.[0] ?? 'title';
    properties[titleName] ??= { type: 'title', title: [] };
    const blocks = input.children === undefined ? [] : parseBlocks(state, deps.publicUrl, input.children);
    const page = insertPage(state, {
      workspaceId: integration.workspaceId,
      parent,
      properties,
      icon: parseIcon(input.icon) ?? null,
      author: integration.botId,
      now,
    });
    insertBlocks(state, page.id, 'page', blocks, integration.botId, now);
    deps.events.pageCreated(page, integration.botId);
    changed();
    res.json(serializePage(view, page));
  });

  function resolveNewPageParent(integration: IntegrationRecord, raw: unknown): ParentRef {
    if (!isObject(raw)) throw validationError('body.parent should be an object.');
    if (typeof raw.page_id === 'string') {
      const page = reachedPage(state, integration, pathId(raw.page_id, 'parent.page_id'));
      return { type: 'page_id', id: page.id };
    }
    if (typeof raw.database_id === 'string') {
      const database = reachedDatabase(state, integration, pathId(raw.database_id, 'parent.database_id'));
      return { type: 'database_id', id: database.id };
    }
    if (typeof raw.data_source_id === 'string') {
      const database = reachedDataSource(state, integration, pathId(raw.data_source_id, 'parent.data_source_id'));
      return { type: 'database_id', id: database.id };
    }
    // Integrations cannot create workspace-level pages in the sandbox (Notion allows it only for some public integrations).
    throw validationError('body.parent should be a page_id, database_id or data_source_id parent.');
  }

  router.patch('/pages/:page_id', (req, res) => {
    const { view, integration, now } = call(res);
    requireCapability(integration.capabilities, 'update_content');
    const page = reachedPage(state, integration, pathId(req.params.page_id, 'page_id'));
    const input = body(req);
    const properties = propertiesFromRequest(state, deps.publicUrl, schemaOfPage(state, page), input.properties);
    const icon = parseIcon(input.icon);
    const trash = input.in_trash ?? input.archived;
    if (trash !== undefined && typeof trash !== 'boolean') throw validationError('body.in_trash should be a boolean.');
    const tracked = deps.events.track(page.id);
    Object.assign(page.properties, properties);
    if (icon !== undefined) page.icon = icon;
    if (trash !== undefined) page.inTrash = trash;
    page.lastEditedTime = now.toISOString();
    page.lastEditedBy = integration.botId;
    tracked(integration.botId, Object.keys(properties));
    changed();
    res.json(serializePage(view, page));
  });

  // Notion's "Move a page" (POST /v1/pages/{id}/move, `pages.move` in @notionhq/client): under another page or data source.
  router.post('/pages/:page_id/move', (req, res) => {
    const { view, integration, now } = call(res);
    requireCapability(integration.capabilities, 'update_content');
    const page = reachedPage(state, integration, pathId(req.params.page_id, 'page_id'));
    const target = resolveNewPageParent(integration, body(req).parent);
    if (target.type === 'page_id' && (target.id === page.id || isReachedFrom(page.id, target.id)))
      throw validationError('A page cannot be moved under itself or its descendants.');
    const tracked = deps.events.track(page.id);
    const oldContainer = page.parent.type === 'page_id' || page.parent.type === 'block_id' ? page.parent.id : null;
    if (oldContainer !== null) state.children[oldContainer] = (state.children[oldContainer] ?? []).filter((id) => id !== page.id);
    page.parent = target;
    if (target.type === 'page_id') attachChild(state, target.id, page.id);
    page.lastEditedTime = now.toISOString();
    page.lastEditedBy = integration.botId;
    tracked(integration.botId);
    changed();
    res.json(serializePage(view, page));
  });

  /** Is `descendantId` below `ancestorId` (following parents)? */
  function isReachedFrom(ancestorId: string, descendantId: string): boolean {
    let current: string | null = descendantId;
    for (let depth = 0; current !== null && depth < 1000; depth += 1) {
      if (current === ancestorId) return true;
      const record: { parent: ParentRef } | undefined = state.pages[current] ?? state.blocks[current] ?? state.databases[current];
      current = record && record.parent.type !== 'workspace' ? record.parent.id : null;
    }
    return false;
  }

  router.get('/pages/:page_id/properties/:property_id', (req, res) => {
    const { integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    const page = reachedPage(state, integration, pathId(req.params.page_id, 'page_id'));
    const propertyId = String(req.params.property_id);
    const name = Object.entries(schemaOfPage(state, page)).find(([n, s]) => s.id === propertyId || n === propertyId)?.[0];
    const value = name === undefined ? null : serializePropertyValue(state, page, name);
    if (!value) throw validationError(`Could not find property with id: ${propertyId}`);
    res.json(propertyItemAnswer(value, parseCursor(req.query.start_cursor, 'query'), parsePageSize(req.query.page_size, 'query')));
  });

  // Blocks
  router.get('/blocks/:block_id', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    res.json(serializeBlock(view, reachedBlock(state, integration, pathId(req.params.block_id, 'block_id'))));
  });

  router.get('/blocks/:block_id/children', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    const located = reachedBlock(state, integration, pathId(req.params.block_id, 'block_id'));
    const ids = located.kind === 'database' ? [] : liveChildren(state, located.record.id);
    const page = paginate(ids, (id) => id, parseCursor(req.query.start_cursor, 'query'), parsePageSize(req.query.page_size, 'query'));
    const list: ListBlockChildrenResponse = {
      object: 'list',
      type: 'block',
      block: {},
      next_cursor: page.next_cursor,
      has_more: page.has_more,
      results: page.results.map((id) => serializeBlock(view, reachedBlock(state, integration, id))),
    };
    res.json(list);
  });

  router.patch('/blocks/:block_id/children', (req, res) => {
    const { view, integration, now } = call(res);
    requireCapability(integration.capabilities, 'insert_content');
    const located = reachedBlock(state, integration, pathId(req.params.block_id, 'block_id'));
    if (located.kind === 'database') throw validationError('Block children cannot be appended to a database.');
    const input = body(req);
    const blocks = parseBlocks(state, deps.publicUrl, input.children);
    const after = input.after === undefined ? undefined : pathId(String(input.after), 'after');
    if (after !== undefined && !(state.children[located.record.id] ?? []).includes(after))
      throw validationError('body.after should be the id of a child of the parent block.');
    const created = insertBlocks(state, located.record.id, located.kind, blocks, integration.botId, now, after);
    located.record.lastEditedTime = now.toISOString();
    located.record.lastEditedBy = integration.botId;
    deps.events.blocksAppended(located.record.id, created, integration.botId);
    changed();
    const list: AppendBlockChildrenResponse = {
      object: 'list',
      type: 'block',
      block: {},
      next_cursor: null,
      has_more: false,
      results: created.map((block) => serializeBlock(view, { kind: 'block', record: block })),
    };
    res.json(list);
  });

  router.patch('/blocks/:block_id', (req, res) => {
    const { view, integration, now } = call(res);
    requireCapability(integration.capabilities, 'update_content');
    const located = reachedBlock(state, integration, pathId(req.params.block_id, 'block_id'));
    const input = body(req);
    const trash = input.in_trash ?? input.archived;
    if (trash !== undefined && typeof trash !== 'boolean') throw validationError('body.in_trash should be a boolean.');
    const tracked = deps.events.track(located.record.id);
    if (located.kind === 'block') located.record.content = updateBlockContent(state, deps.publicUrl, located.record.content, input);
    if (trash !== undefined) located.record.inTrash = trash;
    located.record.lastEditedTime = now.toISOString();
    located.record.lastEditedBy = integration.botId;
    tracked(integration.botId);
    changed();
    res.json(serializeBlock(view, located));
  });

  router.delete('/blocks/:block_id', (req, res) => {
    const { view, integration, now } = call(res);
    requireCapability(integration.capabilities, 'update_content');
    const located = reachedBlock(state, integration, pathId(req.params.block_id, 'block_id'));
    const tracked = deps.events.track(located.record.id);
    setInTrash(located.record, true, integration.botId, now);
    tracked(integration.botId);
    changed();
    res.json(serializeBlock(view, located));
  });

  // Databases (2022-06-28) and data sources (2025-09-03)
  router.get('/databases/:database_id', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    res.json(serializeDatabase(view, reachedDatabase(state, integration, pathId(req.params.database_id, 'database_id'))));
  });

  router.post('/databases/:database_id/query', (req, res) => {
    const context = call(res);
    requireVersion('2022-06-28', context);
    requireCapability(context.integration.capabilities, 'read_content');
    const database = reachedDatabase(state, context.integration, pathId(req.params.database_id, 'database_id'));
    res.json(queryDatabase(context.view, database, body(req)));
  });

  router.get('/data_sources/:data_source_id', (req, res) => {
    const context = call(res);
    requireVersion('2025-09-03', context);
    requireCapability(context.integration.capabilities, 'read_content');
    const database = reachedDataSource(state, context.integration, pathId(req.params.data_source_id, 'data_source_id'));
    res.json(serializeDataSource(context.view, database));
  });

  router.post('/data_sources/:data_source_id/query', (req, res) => {
    const context = call(res);
    requireVersion('2025-09-03', context);
    requireCapability(context.integration.capabilities, 'read_content');
    const database = reachedDataSource(state, context.integration, pathId(req.params.data_source_id, 'data_source_id'));
    res.json(queryDatabase(context.view, database, body(req)));
  });

  // Comments
  router.get('/comments', (req, res) => {
    const { integration } = call(res);
    requireCapability(integration.capabilities, 'read_comments');
    const blockId = pathId(typeof req.query.block_id === 'string' ? req.query.block_id : undefined, 'block_id');
    const located = reachedBlock(state, integration, blockId);
    const comments = Object.values(state.comments)
      .filter((c) => c.parent.id === located.record.id)
      .sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.id.localeCompare(b.id));
    const page = paginate(comments, (c) => c.id, parseCursor(req.query.start_cursor, 'query'), parsePageSize(req.query.page_size, 'query'));
    const list: ListCommentsResponse = {
      object: 'list',
      type: 'comment',
      comment: {},
      next_cursor: page.next_cursor,
      has_more: page.has_more,
      results: page.results.map((c) => serializeComment(state, c)),
    };
    res.json(list);
  });

  router.post('/comments', (req, res) => {
    const { integration, now } = call(res);
    requireCapability(integration.capabilities, 'insert_comments');
    const input = body(req);
    const richText = richTextFromRequest(state, deps.publicUrl, input.rich_text, 'body.rich_text');
    let parent: CommentRecord['parent'];
    let discussionId: string;
    if (typeof input.discussion_id === 'string') {
      const id = pathId(input.discussion_id, 'discussion_id');
      const first = Object.values(state.comments).find((c) => c.discussionId === id);
      if (!first) throw objectNotFound('comment', id);
      reachedBlock(state, integration, first.parent.id);
      parent = first.parent;
      discussionId = id;
    } else if (isObject(input.parent) && (typeof input.parent.page_id === 'string' || typeof input.parent.block_id === 'string')) {
      const isPage = typeof input.parent.page_id === 'string';
      const id = pathId(String(isPage ? input.parent.page_id : input.parent.block_id), isPage ? 'parent.page_id' : 'parent.block_id');
      const located = reachedBlock(state, integration, id);
      if (located.kind === 'database') throw objectNotFound('page', id);
      parent = located.kind === 'page' ? { type: 'page_id', id } : { type: 'block_id', id };
      discussionId = newId();
    } else {
      throw validationError('body should have a parent (page_id or block_id) or a discussion_id.');
    }
    const comment: CommentRecord = {
      id: newId(),
      discussionId,
      workspaceId: integration.workspaceId,
      parent,
      richText,
      author: { type: 'bot', id: integration.botId },
      createdTime: now.toISOString(),
    };
    state.comments[comment.id] = comment;
    deps.events.commentCreated(comment);
    changed();
    const answer: CommentObjectResponse = serializeComment(state, comment);
    res.json(answer);
  });

  // Unknown endpoints answer as Notion does.
  router.use(() => {
    throw invalidRequestUrl();
  });

  return router;
}
