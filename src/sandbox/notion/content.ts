/**
 * Content rules: rich text and blocks from request bodies, and the mutations
 * on pages, databases and blocks. Plain functions over the state; the routes
 * check reach and capabilities before calling them.
 */
import type { ApiColor, RichTextItemResponse } from '@notionhq/client';
import { validationError } from './errors.js';
import { compactId, newId, normalizeId } from './ids.js';
import type {
  BlockRecord,
  PageIcon,
  PageRecord,
  ParentRef,
  RichText,
  SandboxState,
  StoredBlockContent,
  StoredPropertySchema,
  StoredPropertyValue,
} from './state.js';

type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const DEFAULT_ANNOTATIONS: RichTextItemResponse['annotations'] = {
  bold: false,
  italic: false,
  strikethrough: false,
  underline: false,
  code: false,
  color: 'default',
};

export function plainText(richText: RichText): string {
  return richText.map((item) => item.plain_text).join('');
}

export function text(content: string, link: string | null = null): RichTextItemResponse {
  return {
    type: 'text',
    text: { content, link: link === null ? null : { url: link } },
    annotations: { ...DEFAULT_ANNOTATIONS },
    plain_text: content,
    href: link,
  };
}

export function pageUrl(publicUrl: string, title: string, id: string): string {
  const slug = title.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${publicUrl}/p/${slug ? `${slug}-` : ''}${compactId(id)}`;
}

export function pageTitle(page: PageRecord): string {
  for (const value of Object.values(page.properties)) if (value.type === 'title') return plainText(value.title);
  return '';
}

export function pageMention(state: SandboxState, publicUrl: string, pageId: string): RichTextItemResponse {
  const page = state.pages[pageId];
  const title = page ? pageTitle(page) : 'Untitled';
  return {
    type: 'mention',
    mention: { type: 'page', page: { id: pageId } },
    annotations: { ...DEFAULT_ANNOTATIONS },
    plain_text: title,
    href: pageUrl(publicUrl, title, pageId),
  };
}

const COLORS: readonly ApiColor[] = [
  'default',
  'gray',
  'brown',
  'orange',
  'yellow',
  'green',
  'blue',
  'purple',
  'pink',
  'red',
  'default_background',
  'gray_background',
  'brown_background',
  'orange_background',
  'yellow_background',
  'green_background',
  'blue_background',
  'purple_background',
  'pink_background',
  'red_background',
];

function color(value: unknown, where: string): ApiColor {
  if (value === undefined) return 'default';
  if (typeof value === 'string' && (COLORS as readonly string[]).includes(value)) return value as ApiColor;
  throw validationError(`${where}.color should be a valid color.`);
}

function annotations(value: unknown, where: string): RichTextItemResponse['annotations'] {
  if (value === undefined) return { ...DEFAULT_ANNOTATIONS };
  if (!isObject(value)) throw validationError(`${where}.annotations should be an object.`);
  const flag = (name: 'bold' | 'italic' | 'strikethrough' | 'underline' | 'code') => {
    const v = value[name];
    if (v !== undefined && typeof v !== 'boolean') throw validationError(`${where}.annotations.${name} should be a boolean.`);
    return v ?? false;
  };
  return {
    bold: flag('bold'),
    italic: flag('italic'),
    strikethrough: flag('strikethrough'),
    underline: flag('underline'),
    code: flag('code'),
    color: color(value.color, `${where}.annotations`),
  };
}

/** Rich text from a request: text items and page mentions (what Gatehouse and its partners send). */
export function richTextFromRequest(state: SandboxState, publicUrl: string, value: unknown, where: string): RichText {
  if (!Array.isArray(value)) throw validationError(`${where} should be an array.`);
  if (value.length > 100) throw validationError(`${where}.length should be ≤ \`100\`, instead was \`${value.length}\`.`);
  return value.map((item, index): RichTextItemResponse => {
    const at = `${where}[${index}]`;
    if (!isObject(item)) throw validationError(`${at} should be an object.`);
    if (isObject(item.text)) {
      const content = item.text.content;
      if (typeof content !== 'string') throw validationError(`${at}.text.content should be a string.`);
      if (content.length > 2000)
        throw validationError(`${at}.text.content.length should be ≤ \`2000\`, instead was \`${content.length}\`.`);
      const link = item.text.link;
      const url = isObject(link) && typeof link.url === 'string' ? link.url : null;
      return { ...text(content, url), annotations: annotations(item.annotations, at) };
    }
    if (isObject(item.mention) && isObject(item.mention.page) && typeof item.mention.page.id === 'string') {
      const id = normalizeId(item.mention.page.id);
      if (!id) throw validationError(`${at}.mention.page.id should be a valid uuid.`);
      return { ...pageMention(state, publicUrl, id), annotations: annotations(item.annotations, at) };
    }
    throw validationError(`${at} should be a text or page mention rich text item.`);
  });
}

const TEXT_BLOCKS = ['paragraph', 'bulleted_list_item', 'numbered_list_item', 'quote', 'toggle'] as const;
const HEADINGS = ['heading_1', 'heading_2', 'heading_3'] as const;

/** One block of a request's `children`; nested `children` come back separately. */
export function blockFromRequest(
  state: SandboxState,
  publicUrl: string,
  value: unknown,
  where: string,
): { content: StoredBlockContent; children: unknown[] } {
  if (!isObject(value)) throw validationError(`${where} should be an object.`);
  const type = typeof value.type === 'string' ? value.type : Object.keys(value).find((k) => k !== 'object' && k !== 'type');
  const body = type === undefined ? undefined : value[type];
  if (type === undefined || !isObject(body)) throw validationError(`${where} should be a block object.`);
  const at = `${where}.${type}`;
  const children = Array.isArray(body.children) ? body.children : [];
  const rich = () => richTextFromRequest(state, publicUrl, body.rich_text, `${at}.rich_text`);
  if ((TEXT_BLOCKS as readonly string[]).includes(type)) {
    const content = { rich_text: rich(), color: color(body.color, at) };
    return { content: { type, [type]: content } as StoredBlockContent, children };
  }
  if ((HEADINGS as readonly string[]).includes(type)) {
    const content = { rich_text: rich(), color: color(body.color, at), is_toggleable: body.is_toggleable === true };
    return { content: { type, [type]: content } as StoredBlockContent, children };
  }
  switch (type) {
    case 'to_do':
      return { content: { type, to_do: { rich_text: rich(), color: color(body.color, at), checked: body.checked === true } }, children };
    case 'divider':
      return { content: { type, divider: {} }, children: [] };
    case 'link_to_page': {
      const pageId = typeof body.page_id === 'string' ? normalizeId(body.page_id) : null;
      if (pageId) return { content: { type, link_to_page: { type: 'page_id', page_id: pageId } }, children: [] };
      const databaseId = typeof body.database_id === 'string' ? normalizeId(body.database_id) : null;
      if (databaseId) return { content: { type, link_to_page: { type: 'database_id', database_id: databaseId } }, children: [] };
      throw validationError(`${at} should have a page_id or database_id.`);
    }
    default:
      throw validationError(`${where}: the sandbox does not support block type \`${type}\`.`);
  }
}

/** Applies an update request to a block's content (same type only, as Notion). */
export function updateBlockContent(state: SandboxState, publicUrl: string, current: StoredBlockContent, body: Json): StoredBlockContent {
  const patch = body[current.type];
  if (patch === undefined) return current;
  if (!isObject(patch)) throw validationError(`body.${current.type} should be an object.`);
  const merged = { ...(current as unknown as Record<string, Json>)[current.type], ...patch };
  return blockFromRequest(state, publicUrl, { type: current.type, [current.type]: merged }, 'body').content;
}

export function parseIcon(value: unknown): PageIcon | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (isObject(value) && typeof value.emoji === 'string') return { type: 'emoji', emoji: value.emoji };
  if (isObject(value) && isObject(value.external) && typeof value.external.url === 'string')
    return { type: 'external', external: { url: value.external.url } };
  throw validationError('body.icon should be an emoji or external icon, or `null`.');
}

/** Adds `id` to the ordered content of a page or block, after `afterId` when given. */
export function attachChild(state: SandboxState, containerId: string, id: string, afterId?: string): void {
  const list = (state.children[containerId] ??= []);
  const at = afterId === undefined ? -1 : list.indexOf(afterId);
  if (at === -1) list.push(id);
  else list.splice(at + 1, 0, id);
}

export function containerOf(parent: ParentRef): string | null {
  return parent.type === 'page_id' || parent.type === 'block_id' ? parent.id : null;
}

export interface NewPage {
  id?: string;
  workspaceId: string;
  parent: ParentRef;
  properties: Record<string, StoredPropertyValue>;
  icon?: PageIcon | null;
  author: string;
  now: Date;
}

export function insertPage(state: SandboxState, args: NewPage): PageRecord {
  const time = args.now.toISOString();
  const page: PageRecord = {
    id: args.id ?? newId(),
    workspaceId: args.workspaceId,
    parent: args.parent,
    properties: args.properties,
    icon: args.icon ?? null,
    inTrash: false,
    createdTime: time,
    lastEditedTime: time,
    createdBy: args.author,
    lastEditedBy: args.author,
  };
  state.pages[page.id] = page;
  const container = containerOf(page.parent);
  if (container) attachChild(state, container, page.id);
  return page;
}

export interface ParsedBlock {
  content: StoredBlockContent;
  children: ParsedBlock[];
}

/** Parses a request's `children` completely first, so that an invalid block creates nothing. */
export function parseBlocks(state: SandboxState, publicUrl: string, requested: unknown, where = 'body.children', depth = 0): ParsedBlock[] {
  if (!Array.isArray(requested)) throw validationError(`${where} should be an array.`);
  if (requested.length > 100) throw validationError(`${where}.length should be ≤ \`100\`, instead was \`${requested.length}\`.`);
  if (depth > 2) throw validationError(`${where}: blocks can be nested at most two levels deep.`);
  return requested.map((value, index) => {
    const at = `${where}[${index}]`;
    const { content, children } = blockFromRequest(state, publicUrl, value, at);
    return { content, children: parseBlocks(state, publicUrl, children, `${at}.${content.type}.children`, depth + 1) };
  });
}

/** Inserts parsed blocks under a page or block, after `afterId` when given; returns the top-level new blocks. */
export function insertBlocks(
  state: SandboxState,
  containerId: string,
  containerKind: 'page' | 'block',
  blocks: ParsedBlock[],
  author: string,
  now: Date,
  afterId?: string,
): BlockRecord[] {
  const workspaceId = (state.pages[containerId] ?? state.blocks[containerId]).workspaceId;
  const time = now.toISOString();
  let previous = afterId;
  return blocks.map(({ content, children }) => {
    const block: BlockRecord = {
      id: newId(),
      workspaceId,
      parent: containerKind === 'page' ? { type: 'page_id', id: containerId } : { type: 'block_id', id: containerId },
      content,
      inTrash: false,
      createdTime: time,
      lastEditedTime: time,
      createdBy: author,
      lastEditedBy: author,
    };
    state.blocks[block.id] = block;
    attachChild(state, containerId, block.id, previous);
    previous = block.id;
    insertBlocks(state, block.id, 'block', children, author, now);
    return block;
  });
}

/** Live (not trashed) content of a page or block, in order. */
export function liveChildren(state: SandboxState, containerId: string): string[] {
  return (state.children[containerId] ?? []).filter((id) => {
    const record = state.blocks[id] ?? state.pages[id] ?? state.databases[id];
    return record !== undefined && !record.inTrash;
  });
}

export function hasChildren(state: SandboxState, containerId: string): boolean {
  return liveChildren(state, containerId).length > 0;
}

/**
 * Property values of a create/update request, checked against the page's
 * schema (a plain page has only "title"). Keys may be property names or ids.
 */
export function propertiesFromRequest(
  state: SandboxState,
  publicUrl: string,
  schema: Record<string, StoredPropertySchema>,
  raw: unknown,
): Record<string, StoredPropertyValue> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw validationError('body.properties should be an object.');
  const values: Record<string, StoredPropertyValue> = {};
  for (const [key, value] of Object.entries(raw)) {
    const entry = Object.entries(schema).find(([name, s]) => name === key || s.id === key);
    if (!entry) throw validationError(`${key} is not a property that exists.`);
    const [name, property] = entry;
    const at = `body.properties.${key}`;
    if (!isObject(value)) throw validationError(`${at} should be an object.`);
    switch (property.type) {
      case 'title':
        values[name] = { type: 'title', title: richTextFromRequest(state, publicUrl, value.title, `${at}.title`) };
        break;
      case 'rich_text':
        values[name] = { type: 'rich_text', rich_text: richTextFromRequest(state, publicUrl, value.rich_text, `${at}.rich_text`) };
        break;
      case 'select': {
        const select = value.select;
        if (select === null) {
          values[name] = { type: 'select', optionId: null };
          break;
        }
        if (!isObject(select)) throw validationError(`${at}.select should be an object or \`null\`.`);
        const option = property.options.find((o) => o.id === select.id || o.name === select.name);
        if (!option) throw validationError(`${at}.select: the sandbox does not create select options.`);
        values[name] = { type: 'select', optionId: option.id };
        break;
      }
      case 'relation': {
        if (!Array.isArray(value.relation)) throw validationError(`${at}.relation should be an array.`);
        const pageIds = value.relation.map((item, index) => {
          const id = isObject(item) && typeof item.id === 'string' ? normalizeId(item.id) : null;
          if (!id) throw validationError(`${at}.relation[${index}].id should be a valid uuid.`);
          return id;
        });
        values[name] = { type: 'relation', pageIds };
        break;
      }
    }
  }
  return values;
}

/** Moves a page, database or block to or from the trash. */
export function setInTrash(
  record: { inTrash: boolean; lastEditedTime: string; lastEditedBy: string },
  inTrash: boolean,
  author: string,
  now: Date,
): void {
  record.inTrash = inTrash;
  record.lastEditedTime = now.toISOString();
  record.lastEditedBy = author;
}
