/**
 * Notion's "Retrieve a page property item" answer for one property value:
 * title, rich text and relation are paginated lists of property items, the
 * rest a single item. Kept apart from the routes, which only find the value.
 */
import type { GetPagePropertyResponse, PageObjectResponse } from '@notionhq/client';
import { validationError } from './errors.js';
import { paginate } from './query.js';

type PropertyValue = PageObjectResponse['properties'][string];

export function propertyItemAnswer(value: PropertyValue, cursor: string | undefined, pageSize: number): GetPagePropertyResponse {
  if (value.type === 'title' || value.type === 'rich_text') {
    const items = (value.type === 'title' ? value.title : value.rich_text).map((item, index) => ({ item, key: indexId(index) }));
    const page = paginate(items, (i) => i.key, cursor, pageSize);
    return {
      object: 'list',
      type: 'property_item',
      property_item:
        value.type === 'title'
          ? { type: 'title', title: {}, next_url: null, id: value.id }
          : { type: 'rich_text', rich_text: {}, next_url: null, id: value.id },
      next_cursor: page.next_cursor,
      has_more: page.has_more,
      results: page.results.map(({ item }) =>
        value.type === 'title'
          ? { object: 'property_item' as const, id: value.id, type: 'title' as const, title: item }
          : { object: 'property_item' as const, id: value.id, type: 'rich_text' as const, rich_text: item },
      ),
    };
  }
  if (value.type === 'relation') {
    const page = paginate(value.relation, (r) => r.id, cursor, pageSize);
    return {
      object: 'list',
      type: 'property_item',
      property_item: { type: 'relation', relation: {}, next_url: null, id: value.id },
      next_cursor: page.next_cursor,
      has_more: page.has_more,
      results: page.results.map((r) => ({
        object: 'property_item' as const,
        id: value.id,
        type: 'relation' as const,
        relation: { id: r.id },
      })),
    };
  }
  if (value.type === 'select') return { object: 'property_item', id: value.id, type: 'select', select: value.select };
  throw validationError(`The sandbox does not serve property items of type ${value.type}.`);
}

/** Property item cursors must be ids: derive one per position. */
function indexId(index: number): string {
  return `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}
