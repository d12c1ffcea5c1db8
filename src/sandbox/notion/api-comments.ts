/** Comments: list on a block, create on a page, block or discussion. */
import type { Router } from 'express';
import type { CommentObjectResponse, ListCommentsResponse } from '@notionhq/client';
import { requireCapability } from './capabilities.js';
import { isObject, richTextFromRequest } from './content.js';
import { objectNotFound, validationError } from './errors.js';
import { newId } from './ids.js';
import { paginate, parseCursor, parsePageSize } from './query.js';
import { reachedBlock } from './reach.js';
import { serializeComment } from './serialize.js';
import type { CommentRecord } from './state.js';
import { body, call, pathId } from './api-call.js';
import type { ApiDeps } from './api-call.js';

export function commentRoutes(router: Router, deps: ApiDeps): void {
  const { state } = deps.store;
  const changed = () => deps.store.changed();

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
}
