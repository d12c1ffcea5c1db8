/**
 * Notion's webhook event shapes, taken from @notionhq/client's own types so
 * that an event built with a wrong shape fails the type check, and the
 * mapping from the sandbox's records to the parents and entities the events
 * carry.
 */
import type { BaseWebhookPayload, PageCreatedWebhookPayload } from '@notionhq/client';
import type { NotionWebhookPayload } from '../../webhooks/event-types.js';
import type { DatabaseRecord, ParentRef, SandboxState, WebhookApiVersion } from './state.js';

export type NotionWebhookEvent = NotionWebhookPayload;

export type WebhookEventType = NotionWebhookEvent['type'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a change determines (type, entity, data); the envelope is filled per subscription at emission. */
export type EventBody = DistributiveOmit<NotionWebhookEvent, keyof BaseWebhookPayload>;

export type WebhookAuthor = BaseWebhookPayload['authors'][number];
export type WebhookAudienceMember = NonNullable<BaseWebhookPayload['accessible_by']>[number];
export type WebhookParent = PageCreatedWebhookPayload['data']['parent'];

const ALL_TYPES = {
  'comment.created': true,
  'comment.deleted': true,
  'comment.updated': true,
  'data_source.content_updated': true,
  'data_source.created': true,
  'data_source.deleted': true,
  'data_source.moved': true,
  'data_source.schema_updated': true,
  'data_source.undeleted': true,
  'database.content_updated': true,
  'database.created': true,
  'database.deleted': true,
  'database.moved': true,
  'database.schema_updated': true,
  'database.undeleted': true,
  'file_upload.completed': true,
  'file_upload.created': true,
  'file_upload.expired': true,
  'file_upload.upload_failed': true,
  'page.content_updated': true,
  'page.created': true,
  'page.deleted': true,
  'page.locked': true,
  'page.moved': true,
  'page.properties_updated': true,
  'page.transcription_block.transcript_deleted': true,
  'page.undeleted': true,
  'page.unlocked': true,
  'view.created': true,
  'view.deleted': true,
  'view.updated': true,
} satisfies Record<WebhookEventType, true>;

/** Every event type Notion names (a subscription may ask for any; the sandbox emits the content ones). */
export const WEBHOOK_EVENT_TYPES = Object.keys(ALL_TYPES) as WebhookEventType[];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return Object.hasOwn(ALL_TYPES, value);
}

export const WEBHOOK_API_VERSIONS: readonly WebhookApiVersion[] = ['2022-06-28', '2025-09-03'];

/**
 * A record's parent as webhook events give it: the workspace is a `space`;
 * from 2025-09-03 a database parent also names its data source (a row lives
 * in a data source, the database is its container).
 */
export function webhookParent(state: SandboxState, parent: ParentRef, workspaceId: string, version: WebhookApiVersion): WebhookParent {
  switch (parent.type) {
    case 'workspace':
      return { id: workspaceId, type: 'space' };
    case 'page_id':
      return { id: parent.id, type: 'page' };
    case 'block_id':
      return { id: parent.id, type: 'block' };
    case 'database_id': {
      const database = state.databases[parent.id];
      return version === '2025-09-03' && database
        ? { id: parent.id, type: 'database', data_source_id: database.dataSourceId }
        : { id: parent.id, type: 'database' };
    }
  }
}

/**
 * A database-level event in the subscription's version: from 2025-09-03 the
 * data source is the entity (its parent is the database); before, the database.
 */
export function databaseEntity(
  state: SandboxState,
  database: DatabaseRecord,
  version: WebhookApiVersion,
): { entity: { id: string; type: 'database' | 'data_source' }; parent: WebhookParent } {
  if (version === '2025-09-03')
    return { entity: { id: database.dataSourceId, type: 'data_source' }, parent: { id: database.id, type: 'database' } };
  return {
    entity: { id: database.id, type: 'database' },
    parent: webhookParent(state, database.parent, database.workspaceId, version),
  };
}
