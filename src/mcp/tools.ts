/**
 * The MCP tools as data, named and shaped as Notion's hosted MCP server
 * names them. Each row: the capability it needs (as the
 * proxy's allow-list names them), its MCP annotations, its arguments (strict:
 * unknown arguments are refused) and a thin run over the proxy's own path
 * (./notion-call.ts). Behaviour lives in the table: what a grant lists,
 * what a call needs for step-up, and what it does.
 */
import { z } from 'zod';
import type { ContentCapability, Endpoint } from '../proxy/endpoints.js';
import { requireCapability } from '../proxy/routes.js';
import { normaliseNotionId } from '../proxy/endpoints.js';
import { NotionError } from '../proxy/errors.js';
import { blocksToMarkdown, markdownToBlocks, plainText, richText, titleOf } from './content.js';
import type { NotionCall } from './notion-call.js';

type Json = Record<string, unknown>;

export interface Tool {
  name: string;
  description: string;
  /** As in the proxy's allow-list: a content capability, or 'user_info' (any level but none). */
  capability: ContentCapability | 'user_info';
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint?: boolean; openWorldHint: false };
  input: z.ZodObject;
  run: (notion: NotionCall, args: never) => Promise<unknown>;
}

/** A tool error's words: the same for an id that does not exist and one outside the grant. */
export class ToolError extends Error {}
export const NOT_REACHABLE = 'Nothing with that id is reachable through this connection.';

/** A Notion id, bare, dashed or inside a Notion URL (the last 32 hex digits of it). */
export function notionIdFrom(value: string): string {
  const direct = normaliseNotionId(value.trim());
  if (direct) return direct;
  const inUrl = /([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:[?#/]|$)/i.exec(value.trim());
  const id = inUrl ? normaliseNotionId(inUrl[1]!) : null;
  if (!id) throw new ToolError('The id is not a Notion id or URL.');
  return id;
}

const id = z.string().min(1).max(300);
const READ = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
const WRITE = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;

const isNotFound = (err: unknown) => err instanceof NotionError && (err.status === 404 || err.status === 400);

function summary(object: Json): Json {
  return { id: object.id, object: object.object, title: titleOf(object), url: object.url ?? null };
}

async function pageContent(notion: NotionCall, pageId: string): Promise<string> {
  const children = await notion('GET', `blocks/${pageId}/children`, { query: { page_size: '100' } });
  return blocksToMarkdown(Array.isArray(children.results) ? children.results : []);
}

const search = z.object({ query: z.string().max(500), page_size: z.number().int().min(1).max(100).optional() }).strict();
const fetchArgs = z.object({ id }).strict();
const queryArgs = z
  .object({ data_source_id: id, filter: z.record(z.string(), z.unknown()).optional(), sorts: z.array(z.unknown()).optional() })
  .strict();
const pageInput = z
  .object({
    title: z.string().max(2000).optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    content: z.string().max(100_000).optional(),
  })
  .strict();
const createArgs = z
  .object({
    parent: z.union([z.object({ page_id: id }).strict(), z.object({ data_source_id: id }).strict()]),
    pages: z.array(pageInput).min(1).max(20),
  })
  .strict();
const updateArgs = z
  .object({ page_id: id, properties: z.record(z.string(), z.unknown()).optional(), content: z.string().max(100_000).optional() })
  .strict();
const moveArgs = z.object({ ids: z.array(id).min(1).max(20), new_parent: z.object({ page_id: id }).strict() }).strict();
const commentArgs = z.object({ page_id: id, text: z.string().min(1).max(2000) }).strict();
const pageArgs = z.object({ page_id: id }).strict();

export const TOOLS: readonly Tool[] = [
  {
    name: 'notion-search',
    description: 'Search the pages and databases this connection may read, by title.',
    capability: 'read_content',
    annotations: READ,
    input: search,
    run: async (notion, args: z.infer<typeof search>) => {
      const found = await notion('POST', 'search', { body: { query: args.query, page_size: args.page_size ?? 20 } });
      return { results: (Array.isArray(found.results) ? (found.results as Json[]) : []).map(summary), has_more: found.has_more ?? false };
    },
  },
  {
    name: 'notion-fetch',
    description: 'Fetch a page (with its content as Markdown), a database or a data source, by id or Notion URL.',
    capability: 'read_content',
    annotations: READ,
    input: fetchArgs,
    run: async (notion, args: z.infer<typeof fetchArgs>) => {
      const target = notionIdFrom(args.id);
      for (const [kind, path] of [
        ['page', `pages/${target}`],
        ['database', `databases/${target}`],
        ['data_source', `data_sources/${target}`],
      ] as const) {
        try {
          const object = await notion('GET', path);
          if (kind === 'page') return { ...summary(object), properties: object.properties, content: await pageContent(notion, target) };
          return { ...summary(object), properties: object.properties ?? null, data_sources: object.data_sources ?? null };
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      throw new ToolError(NOT_REACHABLE);
    },
  },
  {
    name: 'notion-query-data-sources',
    description: "Query a data source's rows, with Notion's filter and sorts.",
    capability: 'read_content',
    annotations: READ,
    input: queryArgs,
    run: async (notion, args: z.infer<typeof queryArgs>) => {
      const body: Json = { page_size: 50 };
      if (args.filter) body.filter = args.filter;
      if (args.sorts) body.sorts = args.sorts;
      const rows = await notion('POST', `data_sources/${notionIdFrom(args.data_source_id)}/query`, { body });
      return {
        results: (Array.isArray(rows.results) ? (rows.results as Json[]) : []).map((row) => ({
          ...summary(row),
          properties: row.properties,
        })),
      };
    },
  },
  {
    name: 'notion-create-pages',
    description: 'Create pages under a page or in a data source; content is Markdown.',
    capability: 'insert_content',
    annotations: WRITE,
    input: createArgs,
    run: async (notion, args: z.infer<typeof createArgs>) => {
      const parent =
        'page_id' in args.parent
          ? { page_id: notionIdFrom(args.parent.page_id) }
          : { data_source_id: notionIdFrom(args.parent.data_source_id) };
      const created: Json[] = [];
      for (const page of args.pages) {
        const properties = page.properties ?? { title: { title: richText(page.title ?? 'Untitled') } };
        const body: Json = { parent, properties };
        if (page.content) body.children = markdownToBlocks(page.content);
        created.push(summary(await notion('POST', 'pages', { body })));
      }
      return { pages: created };
    },
  },
  {
    name: 'notion-update-page',
    description: "Update a page's properties, and append Markdown content to it.",
    capability: 'update_content',
    annotations: { ...WRITE, destructiveHint: true },
    input: updateArgs,
    run: async (notion, args: z.infer<typeof updateArgs>) => {
      const pageId = notionIdFrom(args.page_id);
      let page: Json | null = null;
      if (args.properties) page = await notion('PATCH', `pages/${pageId}`, { body: { properties: args.properties } });
      if (args.content) await notion('PATCH', `blocks/${pageId}/children`, { body: { children: markdownToBlocks(args.content) } });
      page ??= await notion('GET', `pages/${pageId}`);
      return summary(page);
    },
  },
  {
    name: 'notion-move-pages',
    description: 'Move pages under another page this connection may update.',
    capability: 'update_content',
    annotations: { ...WRITE, destructiveHint: true, idempotentHint: true },
    input: moveArgs,
    run: async (notion, args: z.infer<typeof moveArgs>) => {
      const parent = { page_id: notionIdFrom(args.new_parent.page_id) };
      const moved: Json[] = [];
      for (const pageId of args.ids) moved.push(summary(await notion('POST', `pages/${notionIdFrom(pageId)}/move`, { body: { parent } })));
      return { pages: moved };
    },
  },
  {
    name: 'notion-create-comment',
    description: 'Comment on a page.',
    capability: 'insert_comments',
    annotations: WRITE,
    input: commentArgs,
    run: async (notion, args: z.infer<typeof commentArgs>) => {
      const comment = await notion('POST', 'comments', {
        body: { parent: { page_id: notionIdFrom(args.page_id) }, rich_text: richText(args.text) },
      });
      return { id: comment.id, discussion_id: comment.discussion_id ?? null };
    },
  },
  {
    name: 'notion-get-comments',
    description: "A page's comments.",
    capability: 'read_comments',
    annotations: READ,
    input: pageArgs,
    run: async (notion, args: z.infer<typeof pageArgs>) => {
      const comments = await notion('GET', 'comments', { query: { block_id: notionIdFrom(args.page_id), page_size: '100' } });
      const results = Array.isArray(comments.results) ? (comments.results as Json[]) : [];
      return {
        comments: results.map((c) => ({
          id: c.id,
          discussion_id: c.discussion_id,
          text: plainText(c.rich_text),
          created_time: c.created_time,
        })),
      };
    },
  },
  {
    name: 'notion-get-users',
    description: "The workspace's people, shown as the grant's user-information level allows.",
    capability: 'user_info',
    annotations: READ,
    input: z.object({}).strict(),
    run: async (notion) => {
      const users = await notion('GET', 'users', { query: { page_size: '100' } });
      return { users: Array.isArray(users.results) ? users.results : [] };
    },
  },
];

/** May a grant with these capabilities use this tool? The proxy's own capability rule decides. */
export function allows(capabilities: readonly string[], tool: Pick<Tool, 'capability'>): boolean {
  try {
    requireCapability({ capability: tool.capability } as Endpoint, capabilities);
    return true;
  } catch {
    return false;
  }
}

export function findTool(name: unknown): Tool | undefined {
  return TOOLS.find((tool) => tool.name === name);
}
