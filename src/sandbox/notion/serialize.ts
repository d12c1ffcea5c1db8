/**
 * Stored records to Notion's wire objects, typed with @notionhq/client's own
 * response types so that `tsc` proves the shapes. Version-dependent shapes
 * (databases, data sources, database parents) follow the Notion-Version.
 */
import type {
  BlockObjectResponse,
  CommentObjectResponse,
  DatabaseObjectResponse,
  DataSourceObjectResponse,
  PageObjectResponse,
  PartialUserObjectResponse,
  UserObjectResponse,
} from '@notionhq/client';
import type { UserInfoLevel } from './capabilities.js';
import { hasChildren, pageTitle, pageUrl, plainText } from './content.js';
import type { Located } from './reach.js';
import type {
  CommentRecord,
  DatabaseRecord,
  IntegrationRecord,
  PageIcon,
  PageRecord,
  ParentRef,
  PersonRecord,
  SandboxState,
  StoredPropertySchema,
} from './state.js';

export const NOTION_VERSIONS = ['2022-06-28', '2025-09-03'] as const;
export type NotionVersion = (typeof NOTION_VERSIONS)[number];

export interface View {
  state: SandboxState;
  publicUrl: string;
  version: NotionVersion;
}

/** 2022-06-28's database object: properties on the database, no data sources. */
export type LegacyDatabaseObjectResponse = Omit<DatabaseObjectResponse, 'data_sources'> & {
  properties: DataSourceObjectResponse['properties'];
};

type PageParent = PageObjectResponse['parent'];
type PropertyValue = PageObjectResponse['properties'][string];
type PropertyConfig = DataSourceObjectResponse['properties'][string];

export const partialUser = (id: string): PartialUserObjectResponse => ({ object: 'user', id });

export function serializeParent(view: View, parent: ParentRef): PageParent {
  switch (parent.type) {
    case 'workspace':
      return { type: 'workspace', workspace: true };
    case 'page_id':
      return { type: 'page_id', page_id: parent.id };
    case 'block_id':
      return { type: 'block_id', block_id: parent.id };
    case 'database_id': {
      if (view.version === '2022-06-28') return { type: 'database_id', database_id: parent.id };
      const database = view.state.databases[parent.id];
      return { type: 'data_source_id', data_source_id: database?.dataSourceId ?? parent.id, database_id: parent.id };
    }
  }
}

function serializeIcon(icon: PageIcon | null): PageObjectResponse['icon'] {
  return icon === null
    ? null
    : icon.type === 'emoji'
      ? { type: 'emoji', emoji: icon.emoji }
      : { type: 'external', external: { url: icon.external.url } };
}

export function schemaOfPage(state: SandboxState, page: PageRecord): Record<string, StoredPropertySchema> {
  if (page.parent.type === 'database_id') return state.databases[page.parent.id]?.properties ?? {};
  return { title: { id: 'title', type: 'title' } };
}

export function serializePropertyValue(state: SandboxState, page: PageRecord, name: string): PropertyValue | null {
  const value = page.properties[name];
  const schema = schemaOfPage(state, page)[name];
  if (!value || !schema) return null;
  switch (value.type) {
    case 'title':
      return { id: schema.id, type: 'title', title: value.title };
    case 'rich_text':
      return { id: schema.id, type: 'rich_text', rich_text: value.rich_text };
    case 'select': {
      const option = schema.type === 'select' ? schema.options.find((o) => o.id === value.optionId) : undefined;
      return { id: schema.id, type: 'select', select: option ? { id: option.id, name: option.name, color: option.color } : null };
    }
    case 'relation':
      return { id: schema.id, type: 'relation', relation: value.pageIds.map((id) => ({ id })) };
  }
}

export function serializePage(view: View, page: PageRecord): PageObjectResponse {
  const properties: PageObjectResponse['properties'] = {};
  for (const name of Object.keys(page.properties)) {
    const value = serializePropertyValue(view.state, page, name);
    if (value) properties[name] = value;
  }
  return {
    object: 'page',
    id: page.id,
    created_time: page.createdTime,
    last_edited_time: page.lastEditedTime,
    created_by: partialUser(page.createdBy),
    last_edited_by: partialUser(page.lastEditedBy),
    cover: null,
    icon: serializeIcon(page.icon),
    parent: serializeParent(view, page.parent),
    in_trash: page.inTrash,
    archived: page.inTrash,
    is_archived: false,
    is_locked: false,
    properties,
    url: pageUrl(view.publicUrl, pageTitle(page), page.id),
    public_url: null,
  };
}

function serializePropertyConfig(state: SandboxState, name: string, schema: StoredPropertySchema): PropertyConfig {
  const common = { id: schema.id, name, description: null };
  switch (schema.type) {
    case 'title':
      return { ...common, type: 'title', title: {} };
    case 'rich_text':
      return { ...common, type: 'rich_text', rich_text: {} };
    case 'select':
      return {
        ...common,
        type: 'select',
        select: { options: schema.options.map((o) => ({ id: o.id, name: o.name, color: o.color, description: null })) },
      };
    case 'relation': {
      const target = state.databases[schema.databaseId];
      return {
        ...common,
        type: 'relation',
        relation: {
          database_id: schema.databaseId,
          data_source_id: target?.dataSourceId ?? schema.databaseId,
          type: 'single_property',
          single_property: {},
        },
      };
    }
  }
}

function serializePropertyConfigs(state: SandboxState, database: DatabaseRecord): DataSourceObjectResponse['properties'] {
  const properties: DataSourceObjectResponse['properties'] = {};
  for (const [name, schema] of Object.entries(database.properties)) properties[name] = serializePropertyConfig(state, name, schema);
  return properties;
}

function databaseParent(view: View, database: DatabaseRecord): DatabaseObjectResponse['parent'] {
  const parent = serializeParent({ ...view, version: '2022-06-28' }, database.parent);
  if (parent.type === 'data_source_id' || parent.type === 'agent_id')
    throw new Error('a database sits in a page, a block or the workspace');
  return parent;
}

function databaseUrl(view: View, database: DatabaseRecord): string {
  return pageUrl(view.publicUrl, plainText(database.title), database.id);
}

export function serializeDatabase(view: View, database: DatabaseRecord): DatabaseObjectResponse | LegacyDatabaseObjectResponse {
  const common = {
    object: 'database' as const,
    id: database.id,
    title: database.title,
    description: [],
    parent: databaseParent(view, database),
    is_inline: database.isInline,
    in_trash: database.inTrash,
    archived: database.inTrash,
    is_locked: false,
    created_time: database.createdTime,
    last_edited_time: database.lastEditedTime,
    icon: serializeIcon(database.icon),
    cover: null,
    url: databaseUrl(view, database),
    public_url: null,
  };
  if (view.version === '2022-06-28') {
    const legacy: LegacyDatabaseObjectResponse = { ...common, properties: serializePropertyConfigs(view.state, database) };
    return legacy;
  }
  const current: DatabaseObjectResponse = {
    ...common,
    data_sources: [{ id: database.dataSourceId, name: plainText(database.title) }],
  };
  return current;
}

export function serializeDataSource(view: View, database: DatabaseRecord): DataSourceObjectResponse {
  return {
    object: 'data_source',
    id: database.dataSourceId,
    title: database.title,
    description: [],
    parent: { type: 'database_id', database_id: database.id },
    database_parent: databaseParent(view, database),
    is_inline: database.isInline,
    in_trash: database.inTrash,
    archived: database.inTrash,
    created_time: database.createdTime,
    last_edited_time: database.lastEditedTime,
    created_by: partialUser(database.createdBy),
    last_edited_by: partialUser(database.lastEditedBy),
    properties: serializePropertyConfigs(view.state, database),
    icon: serializeIcon(database.icon),
    cover: null,
    url: databaseUrl(view, database),
    public_url: null,
  };
}

/** A page or database seen as a block (child_page / child_database), or a stored block. */
export function serializeBlock(view: View, located: Located): BlockObjectResponse {
  const { record } = located;
  const common = {
    object: 'block' as const,
    id: record.id,
    parent: serializeParent(view, record.parent),
    created_time: record.createdTime,
    created_by: partialUser(record.createdBy),
    last_edited_time: record.lastEditedTime,
    last_edited_by: partialUser(record.lastEditedBy),
    has_children: located.kind === 'database' ? false : hasChildren(view.state, record.id),
    in_trash: record.inTrash,
    archived: record.inTrash,
  };
  switch (located.kind) {
    case 'page':
      return { ...common, type: 'child_page', child_page: { title: pageTitle(located.record) } };
    case 'database':
      return { ...common, type: 'child_database', child_database: { title: plainText(located.record.title) } };
    case 'block': {
      const content = located.record.content;
      switch (content.type) {
        case 'paragraph':
          return { ...common, type: 'paragraph', paragraph: { ...content.paragraph, icon: null } };
        case 'heading_1':
          return { ...common, type: 'heading_1', heading_1: content.heading_1 };
        case 'heading_2':
          return { ...common, type: 'heading_2', heading_2: content.heading_2 };
        case 'heading_3':
          return { ...common, type: 'heading_3', heading_3: content.heading_3 };
        case 'bulleted_list_item':
          return { ...common, type: 'bulleted_list_item', bulleted_list_item: content.bulleted_list_item };
        case 'numbered_list_item':
          return { ...common, type: 'numbered_list_item', numbered_list_item: content.numbered_list_item };
        case 'quote':
          return { ...common, type: 'quote', quote: content.quote };
        case 'toggle':
          return { ...common, type: 'toggle', toggle: content.toggle };
        case 'to_do':
          return { ...common, type: 'to_do', to_do: content.to_do };
        case 'divider':
          return { ...common, type: 'divider', divider: {} };
        case 'link_to_page':
          return { ...common, type: 'link_to_page', link_to_page: content.link_to_page };
      }
    }
  }
}

/** A person as the bot's user-information level allows (developers.notion.com/reference/capabilities). */
export function serializePerson(person: PersonRecord, level: UserInfoLevel): UserObjectResponse {
  if (level === 'no_user_info') return { object: 'user', id: person.id, type: 'person', person: {}, name: null, avatar_url: null };
  return {
    object: 'user',
    id: person.id,
    type: 'person',
    name: person.name,
    avatar_url: person.avatarUrl,
    person: level === 'user_info_with_email' ? { email: person.email } : {},
  };
}

export function serializeBot(state: SandboxState, integration: IntegrationRecord, level: UserInfoLevel): UserObjectResponse {
  const workspace = state.workspaces.find((w) => w.id === integration.workspaceId);
  const person = state.persons.find((p) => p.id === integration.personId);
  let owner;
  if (integration.kind === 'internal' || !person) owner = { type: 'workspace' as const, workspace: true as const };
  else if (level === 'no_user_info') owner = { type: 'user' as const, user: partialUser(person.id) };
  else {
    const { name, avatar_url, person: details } = serializePerson(person, level) as UserObjectResponse & { type: 'person' };
    owner = {
      type: 'user' as const,
      user: { object: 'user' as const, id: person.id, type: 'person' as const, name, avatar_url, person: details },
    };
  }
  return {
    object: 'user',
    id: integration.botId,
    type: 'bot',
    name: integration.name,
    avatar_url: null,
    bot: {
      owner,
      workspace_id: integration.workspaceId,
      workspace_name: workspace?.name ?? null,
      workspace_limits: { max_file_upload_size_in_bytes: 5_242_880 },
    },
  };
}

export function serializeComment(state: SandboxState, comment: CommentRecord): CommentObjectResponse {
  let resolvedName: string | null;
  if (comment.author.type === 'person') resolvedName = state.persons.find((p) => p.id === comment.author.id)?.name ?? null;
  else resolvedName = state.integrations[comment.author.id]?.name ?? null;
  return {
    object: 'comment',
    id: comment.id,
    parent:
      comment.parent.type === 'page_id'
        ? { type: 'page_id', page_id: comment.parent.id }
        : { type: 'block_id', block_id: comment.parent.id },
    discussion_id: comment.discussionId,
    created_time: comment.createdTime,
    last_edited_time: comment.createdTime,
    created_by: partialUser(comment.author.id),
    rich_text: comment.richText,
    display_name: { type: comment.author.type === 'person' ? 'user' : 'integration', resolved_name: resolvedName },
  };
}
