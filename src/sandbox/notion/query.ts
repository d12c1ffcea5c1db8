/**
 * Search, data source queries and Notion's cursor pagination
 * (developers.notion.com/reference/intro#pagination: page_size ≤ 100, default 100;
 * `next_cursor` is opaque: here, the id of the first result of the next page).
 */
import type { PageObjectResponse, QueryDataSourceResponse, SearchResponse } from '@notionhq/client';
import { isObject, pageTitle, plainText } from './content.js';
import { validationError } from './errors.js';
import { normalizeId } from './ids.js';
import { reachableContent } from './reach.js';
import { serializeDatabase, serializeDataSource, serializePage } from './serialize.js';
import type { LegacyDatabaseObjectResponse, View } from './serialize.js';
import type { DatabaseRecord, IntegrationRecord, PageRecord, StoredPropertySchema } from './state.js';

export interface Page<T> {
  results: T[];
  next_cursor: string | null;
  has_more: boolean;
}

export function parsePageSize(raw: unknown, where: string): number {
  if (raw === undefined || raw === null) return 100;
  const size = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1)
    throw validationError(`${where}.page_size should be a positive integer.`);
  if (size > 100) throw validationError(`${where}.page_size should be ≤ \`100\`, instead was \`${size}\`.`);
  return size;
}

export function parseCursor(raw: unknown, where: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw validationError(`${where}.start_cursor should be a string.`);
  return raw;
}

export function paginate<T>(items: T[], idOf: (item: T) => string, startCursor: string | undefined, pageSize: number): Page<T> {
  let start = 0;
  if (startCursor !== undefined) {
    const cursorId = normalizeId(startCursor);
    start = cursorId === null ? -1 : items.findIndex((item) => idOf(item) === cursorId);
    if (start === -1) throw validationError('The start_cursor provided is invalid.');
  }
  const results = items.slice(start, start + pageSize);
  const next = items[start + pageSize];
  return { results, next_cursor: next === undefined ? null : idOf(next), has_more: next !== undefined };
}

export type LegacySearchResponse = Omit<SearchResponse, 'results'> & {
  results: Array<PageObjectResponse | LegacyDatabaseObjectResponse>;
};

type Searchable = { kind: 'page'; record: PageRecord } | { kind: 'database'; record: DatabaseRecord };

export function search(view: View, integration: IntegrationRecord, body: Record<string, unknown>): SearchResponse | LegacySearchResponse {
  const query = body.query === undefined || body.query === null ? '' : body.query;
  if (typeof query !== 'string') throw validationError('body.query should be a string.');
  const databaseWord = view.version === '2022-06-28' ? 'database' : 'data_source';
  let only: 'page' | 'database' | null = null;
  let inTrash = false;
  if (body.filter !== undefined) {
    const filter = body.filter;
    if (!isObject(filter)) throw validationError('body.filter should be an object.');
    if (filter.property !== undefined) {
      if (filter.property !== 'object') throw validationError('body.filter.property should be `"object"`.');
      if (filter.value === 'page') only = 'page';
      else if (filter.value === databaseWord) only = 'database';
      else
        throw validationError(
          `body.filter.value should be \`"page"\` or \`"${databaseWord}"\`, instead was \`${JSON.stringify(filter.value)}\`.`,
        );
    }
    if (filter.in_trash !== undefined) inTrash = filter.in_trash === true;
  }
  let direction: 'ascending' | 'descending' = 'descending';
  if (body.sort !== undefined) {
    const sort = body.sort;
    if (isObject(sort) && sort.timestamp === 'last_edited_time' && (sort.direction === 'ascending' || sort.direction === 'descending'))
      direction = sort.direction;
    else if (!(isObject(sort) && sort.property === 'relevance'))
      throw validationError('body.sort should be `{ timestamp: "last_edited_time", direction }` or `{ property: "relevance" }`.');
  }
  const pageSize = parsePageSize(body.page_size, 'body');
  const cursor = parseCursor(body.start_cursor, 'body');

  const needle = query.trim().toLowerCase();
  const { pages, databases } = reachableContent(view.state, integration);
  const items: Searchable[] = [];
  if (only !== 'database') for (const record of pages) items.push({ kind: 'page', record });
  if (only !== 'page') for (const record of databases) items.push({ kind: 'database', record });
  const matching = items
    .filter((item) => item.record.inTrash === inTrash)
    .filter((item) => needle === '' || titleOf(item).toLowerCase().includes(needle))
    .sort((a, b) => {
      const byTime = a.record.lastEditedTime.localeCompare(b.record.lastEditedTime) || a.record.id.localeCompare(b.record.id);
      return direction === 'ascending' ? byTime : -byTime;
    });
  // In 2025-09-03 search returns a database as its data source, whose id is the cursor.
  const idOf = (item: Searchable) =>
    item.kind === 'database' && view.version !== '2022-06-28' ? item.record.dataSourceId : item.record.id;
  const page = paginate(matching, idOf, cursor, pageSize);
  const list = {
    object: 'list' as const,
    type: 'page_or_data_source' as const,
    page_or_data_source: {},
    next_cursor: page.next_cursor,
    has_more: page.has_more,
  };
  if (view.version === '2022-06-28') {
    const legacy: LegacySearchResponse = {
      ...list,
      results: page.results.map((item) =>
        item.kind === 'page' ? serializePage(view, item.record) : (serializeDatabase(view, item.record) as LegacyDatabaseObjectResponse),
      ),
    };
    return legacy;
  }
  const current: SearchResponse = {
    ...list,
    results: page.results.map((item) => (item.kind === 'page' ? serializePage(view, item.record) : serializeDataSource(view, item.record))),
    request_status: { type: 'complete' },
  };
  return current;
}

function titleOf(item: Searchable): string {
  return item.kind === 'page' ? pageTitle(item.record) : plainText(item.record.title);
}

/** Rows of a database, filtered and sorted as the query body says (the subset of filters the sandbox knows). */
export function queryDatabase(view: View, database: DatabaseRecord, body: Record<string, unknown>): QueryDataSourceResponse {
  const pageSize = parsePageSize(body.page_size, 'body');
  const cursor = parseCursor(body.start_cursor, 'body');
  const predicate = body.filter === undefined ? () => true : compileFilter(database, body.filter, 'body.filter');
  const comparator = compileSorts(database, body.sorts);
  const rows = Object.values(view.state.pages)
    .filter((page) => page.parent.type === 'database_id' && page.parent.id === database.id && !page.inTrash)
    .filter(predicate)
    .sort(comparator);
  const page = paginate(rows, (row) => row.id, cursor, pageSize);
  return {
    object: 'list',
    type: 'page_or_data_source',
    page_or_data_source: {},
    next_cursor: page.next_cursor,
    has_more: page.has_more,
    results: page.results.map((row) => serializePage(view, row)),
  };
}

function findProperty(database: DatabaseRecord, nameOrId: unknown): [string, StoredPropertySchema] {
  const entry = Object.entries(database.properties).find(([name, schema]) => name === nameOrId || schema.id === nameOrId);
  if (!entry) throw validationError(`Could not find property with name or id: ${String(nameOrId)}`);
  return entry;
}

type Predicate = (page: PageRecord) => boolean;

function compileFilter(database: DatabaseRecord, filter: unknown, where: string): Predicate {
  if (!isObject(filter)) throw validationError(`${where} should be an object.`);
  if (Array.isArray(filter.and)) {
    const parts = filter.and.map((f, i) => compileFilter(database, f, `${where}.and[${i}]`));
    return (page) => parts.every((p) => p(page));
  }
  if (Array.isArray(filter.or)) {
    const parts = filter.or.map((f, i) => compileFilter(database, f, `${where}.or[${i}]`));
    return (page) => parts.some((p) => p(page));
  }
  const [name, schema] = findProperty(database, filter.property);
  const condition = filter[schema.type];
  if (!isObject(condition)) throw validationError(`${where}.${schema.type} should be defined for a ${schema.type} property.`);
  const [operator, operand] = Object.entries(condition)[0] ?? [];
  const unsupported = () => validationError(`${where}.${schema.type}: the sandbox does not support \`${String(operator)}\`.`);
  switch (schema.type) {
    case 'title':
    case 'rich_text': {
      const textOf = (page: PageRecord) => {
        const value = page.properties[name];
        return value?.type === 'title' ? plainText(value.title) : value?.type === 'rich_text' ? plainText(value.rich_text) : '';
      };
      const needle = typeof operand === 'string' ? operand.toLowerCase() : '';
      switch (operator) {
        case 'equals':
          return (p) => textOf(p) === operand;
        case 'does_not_equal':
          return (p) => textOf(p) !== operand;
        case 'contains':
          return (p) => textOf(p).toLowerCase().includes(needle);
        case 'does_not_contain':
          return (p) => !textOf(p).toLowerCase().includes(needle);
        case 'starts_with':
          return (p) => textOf(p).toLowerCase().startsWith(needle);
        case 'ends_with':
          return (p) => textOf(p).toLowerCase().endsWith(needle);
        case 'is_empty':
          return (p) => textOf(p) === '';
        case 'is_not_empty':
          return (p) => textOf(p) !== '';
        default:
          throw unsupported();
      }
    }
    case 'select': {
      const optionName = (page: PageRecord) => {
        const value = page.properties[name];
        const id = value?.type === 'select' ? value.optionId : null;
        return schema.options.find((o) => o.id === id)?.name ?? null;
      };
      switch (operator) {
        case 'equals':
          return (p) => optionName(p) === operand;
        case 'does_not_equal':
          return (p) => optionName(p) !== operand;
        case 'is_empty':
          return (p) => optionName(p) === null;
        case 'is_not_empty':
          return (p) => optionName(p) !== null;
        default:
          throw unsupported();
      }
    }
    case 'relation': {
      const related = (page: PageRecord) => {
        const value = page.properties[name];
        return value?.type === 'relation' ? value.pageIds : [];
      };
      const target = typeof operand === 'string' ? normalizeId(operand) : null;
      switch (operator) {
        case 'contains':
          return (p) => target !== null && related(p).includes(target);
        case 'does_not_contain':
          return (p) => target === null || !related(p).includes(target);
        case 'is_empty':
          return (p) => related(p).length === 0;
        case 'is_not_empty':
          return (p) => related(p).length > 0;
        default:
          throw unsupported();
      }
    }
  }
}

function compileSorts(database: DatabaseRecord, sorts: unknown): (a: PageRecord, b: PageRecord) => number {
  const byCreated = (a: PageRecord, b: PageRecord) => a.createdTime.localeCompare(b.createdTime) || a.id.localeCompare(b.id);
  if (sorts === undefined) return byCreated;
  if (!Array.isArray(sorts)) throw validationError('body.sorts should be an array.');
  const keys = sorts.map((sort, index): ((a: PageRecord, b: PageRecord) => number) => {
    if (!isObject(sort)) throw validationError(`body.sorts[${index}] should be an object.`);
    const sign = sort.direction === 'descending' ? -1 : 1;
    if (sort.timestamp === 'created_time') return (a, b) => sign * a.createdTime.localeCompare(b.createdTime);
    if (sort.timestamp === 'last_edited_time') return (a, b) => sign * a.lastEditedTime.localeCompare(b.lastEditedTime);
    const [name] = findProperty(database, sort.property);
    const key = (page: PageRecord) => {
      const value = page.properties[name];
      if (!value) return '';
      if (value.type === 'title') return plainText(value.title);
      if (value.type === 'rich_text') return plainText(value.rich_text);
      if (value.type === 'select') return value.optionId ?? '';
      return value.pageIds.join(',');
    };
    return (a, b) => sign * key(a).localeCompare(key(b));
  });
  return (a, b) => {
    for (const key of keys) {
      const order = key(a, b);
      if (order !== 0) return order;
    }
    return byCreated(a, b);
  };
}
