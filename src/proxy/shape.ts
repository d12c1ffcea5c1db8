/**
 * Shaping Notion's answers before a partner sees them:
 * - every user object, wherever it sits (created_by, people properties,
 *   mentions, bot owners, comment authors), carries only what the grant's
 *   user-information level allows: `no_user_info` no name, avatar or email
 *   (as Notion does), `user_info_without_email` no email;
 * - references to pages and databases outside the grant's scope (page and
 *   database mentions, child_page / child_database blocks) keep their id but
 *   lose their title: "Untitled" and no link, as Notion shows a page the
 *   integration cannot see.
 * What cannot be shaped this way is listed in the README ("Proxy scope limits").
 */
import type { UserInfoLevel } from '../oauth/capabilities.js';

type Json = Record<string, unknown>;
const MAX_DEPTH = 200;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A user object as the level allows (in place). */
export function shapeUser(user: Json, level: UserInfoLevel): void {
  if (level === 'user_info_with_email') return;
  if (isObject(user.person)) user.person = {};
  if (level === 'no_user_info') {
    if ('name' in user) user.name = null;
    if ('avatar_url' in user) user.avatar_url = null;
  }
}

export interface References {
  /** Ids of pages and databases named by mentions. */
  mentioned: Set<string>;
  /** child_page / child_database blocks: their id and parent, to decide their scope. */
  childBlocks: Array<{ id: string; parent: unknown }>;
}

export function collectReferences(answer: unknown): References {
  const refs: References = { mentioned: new Set(), childBlocks: [] };
  walk(answer, 0, (node) => {
    if (node.type === 'mention' && isObject(node.mention)) {
      const mention = node.mention;
      const target = mention.type === 'page' ? mention.page : mention.type === 'database' ? mention.database : undefined;
      if (isObject(target) && typeof target.id === 'string') refs.mentioned.add(target.id);
    }
    if (node.object === 'block' && (node.type === 'child_page' || node.type === 'child_database') && typeof node.id === 'string') {
      refs.childBlocks.push({ id: node.id, parent: node.parent });
    }
  });
  return refs;
}

/** Shapes a whole answer in place: users by level, out-of-scope references without titles. */
export function shapeAnswer(answer: unknown, options: { level: UserInfoLevel; outOfScope: ReadonlySet<string> }): void {
  const { level, outOfScope } = options;
  walk(answer, 0, (node) => {
    if (node.object === 'user') shapeUser(node, level);
    if (node.type === 'mention' && isObject(node.mention)) {
      const mention = node.mention;
      const target = mention.type === 'page' ? mention.page : mention.type === 'database' ? mention.database : undefined;
      if (isObject(target) && typeof target.id === 'string' && outOfScope.has(target.id)) {
        node.plain_text = 'Untitled';
        node.href = null;
      }
      if (mention.type === 'user' && level === 'no_user_info') {
        // The mention's text is the person's name.
        node.plain_text = '@Anonymous';
        node.href = null;
      }
    }
    if (node.object === 'comment' && isObject(node.display_name) && node.display_name.type === 'user' && level === 'no_user_info') {
      node.display_name.resolved_name = null;
    }
    if (node.object === 'block' && typeof node.id === 'string' && outOfScope.has(node.id)) {
      if (node.type === 'child_page' && isObject(node.child_page)) node.child_page.title = 'Untitled';
      if (node.type === 'child_database' && isObject(node.child_database)) node.child_database.title = 'Untitled';
    }
  });
}

function walk(value: unknown, depth: number, visit: (node: Json) => void): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, depth + 1, visit);
    return;
  }
  if (!isObject(value)) return;
  visit(value);
  for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) walk(child, depth + 1, visit);
}
