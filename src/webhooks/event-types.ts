/**
 * Notion's webhook event types, the only names a partner subscription may
 * ask for. The list is data, checked both ways against `@notionhq/client`'s
 * payload types: a name Notion does not send fails to compile, and so does
 * an event type the SDK gains that is missing here.
 */
import type {
  CommentCreatedWebhookPayload,
  CommentDeletedWebhookPayload,
  CommentUpdatedWebhookPayload,
  DataSourceContentUpdatedWebhookPayload,
  DataSourceCreatedWebhookPayload,
  DataSourceDeletedWebhookPayload,
  DataSourceMovedWebhookPayload,
  DataSourceSchemaUpdatedWebhookPayload,
  DataSourceUndeletedWebhookPayload,
  DatabaseContentUpdatedWebhookPayload,
  DatabaseCreatedWebhookPayload,
  DatabaseDeletedWebhookPayload,
  DatabaseMovedWebhookPayload,
  DatabaseSchemaUpdatedWebhookPayload,
  DatabaseUndeletedWebhookPayload,
  FileUploadCompletedWebhookPayload,
  FileUploadCreatedWebhookPayload,
  FileUploadExpiredWebhookPayload,
  FileUploadUploadFailedWebhookPayload,
  PageContentUpdatedWebhookPayload,
  PageCreatedWebhookPayload,
  PageDeletedWebhookPayload,
  PageLockedWebhookPayload,
  PageMovedWebhookPayload,
  PagePropertiesUpdatedWebhookPayload,
  PageTranscriptionBlockTranscriptDeletedWebhookPayload,
  PageUndeletedWebhookPayload,
  PageUnlockedWebhookPayload,
  ViewCreatedWebhookPayload,
  ViewDeletedWebhookPayload,
  ViewUpdatedWebhookPayload,
} from '@notionhq/client';

/** Every webhook payload the SDK knows; the sandbox Notion builds its events to this type too. */
export type NotionWebhookPayload =
  | CommentCreatedWebhookPayload
  | CommentDeletedWebhookPayload
  | CommentUpdatedWebhookPayload
  | DataSourceContentUpdatedWebhookPayload
  | DataSourceCreatedWebhookPayload
  | DataSourceDeletedWebhookPayload
  | DataSourceMovedWebhookPayload
  | DataSourceSchemaUpdatedWebhookPayload
  | DataSourceUndeletedWebhookPayload
  | DatabaseContentUpdatedWebhookPayload
  | DatabaseCreatedWebhookPayload
  | DatabaseDeletedWebhookPayload
  | DatabaseMovedWebhookPayload
  | DatabaseSchemaUpdatedWebhookPayload
  | DatabaseUndeletedWebhookPayload
  | FileUploadCompletedWebhookPayload
  | FileUploadCreatedWebhookPayload
  | FileUploadExpiredWebhookPayload
  | FileUploadUploadFailedWebhookPayload
  | PageContentUpdatedWebhookPayload
  | PageCreatedWebhookPayload
  | PageDeletedWebhookPayload
  | PageLockedWebhookPayload
  | PageMovedWebhookPayload
  | PagePropertiesUpdatedWebhookPayload
  | PageTranscriptionBlockTranscriptDeletedWebhookPayload
  | PageUndeletedWebhookPayload
  | PageUnlockedWebhookPayload
  | ViewCreatedWebhookPayload
  | ViewDeletedWebhookPayload
  | ViewUpdatedWebhookPayload;

export type NotionEventType = NotionWebhookPayload['type'];

/** In the order the page lists them: pages, databases, data sources, comments, views, file uploads. */
export const NOTION_EVENT_TYPES = [
  'page.created',
  'page.deleted',
  'page.undeleted',
  'page.moved',
  'page.locked',
  'page.unlocked',
  'page.content_updated',
  'page.properties_updated',
  'page.transcription_block.transcript_deleted',
  'database.created',
  'database.deleted',
  'database.undeleted',
  'database.moved',
  'database.content_updated',
  'database.schema_updated',
  'data_source.created',
  'data_source.deleted',
  'data_source.undeleted',
  'data_source.moved',
  'data_source.content_updated',
  'data_source.schema_updated',
  'comment.created',
  'comment.updated',
  'comment.deleted',
  'view.created',
  'view.updated',
  'view.deleted',
  'file_upload.created',
  'file_upload.completed',
  'file_upload.upload_failed',
  'file_upload.expired',
] as const satisfies readonly NotionEventType[];

// The other direction: every type the SDK knows is listed above.
type Missing = Exclude<NotionEventType, (typeof NOTION_EVENT_TYPES)[number]>;
const everyTypeListed: [Missing] extends [never] ? true : Missing = true;
void everyTypeListed;

export function isNotionEventType(name: string): name is NotionEventType {
  return (NOTION_EVENT_TYPES as readonly string[]).includes(name);
}

/** The demo partner's subscription, and the page's default: every page and comment event. */
export const PAGE_AND_COMMENT_EVENTS: NotionEventType[] = NOTION_EVENT_TYPES.filter(
  (t) => t.startsWith('page.') || t.startsWith('comment.'),
);
