/** Pages: read, create, update, move, and one property's items. */
import type { Router } from 'express';
import { requireCapability } from './capabilities.js';
import { attachChild, insertBlocks, insertPage, isObject, parseBlocks, parseIcon, propertiesFromRequest } from './content.js';
import { validationError } from './errors.js';
import { propertyItemAnswer } from './property-items.js';
import { parseCursor, parsePageSize } from './query.js';
import { reachedDatabase, reachedDataSource, reachedPage } from './reach.js';
import { schemaOfPage, serializePage, serializePropertyValue } from './serialize.js';
import type { IntegrationRecord, ParentRef } from './state.js';
import { body, call, pathId } from './api-call.js';
import type { ApiDeps } from './api-call.js';

export function pageRoutes(router: Router, deps: ApiDeps): void {
  const { state } = deps.store;
  const changed = () => deps.store.changed();

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
}
