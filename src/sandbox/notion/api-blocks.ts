/** Blocks: read, list and append children, update, trash. */
import type { Router } from 'express';
import type { AppendBlockChildrenResponse, ListBlockChildrenResponse } from '@notionhq/client';
import { requireCapability } from './capabilities.js';
import { insertBlocks, liveChildren, parseBlocks, setInTrash, updateBlockContent } from './content.js';
import { validationError } from './errors.js';
import { paginate, parseCursor, parsePageSize } from './query.js';
import { reachedBlock } from './reach.js';
import { serializeBlock } from './serialize.js';
import { body, call, pathId } from './api-call.js';
import type { ApiDeps } from './api-call.js';

export function blockRoutes(router: Router, deps: ApiDeps): void {
  const { state } = deps.store;
  const changed = () => deps.store.changed();

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
}
