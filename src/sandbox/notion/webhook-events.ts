/**
 * Content changes turned into Notion's webhook events. The API and control
 * routes call these hooks right after they change the state and before they
 * answer; each hook works out, synchronously and on that state, which
 * subscriptions hear of the change and with what body, then hands the events
 * to delivery, which sends them later. So the audience is the one at the time
 * of the change, and a slow receiver never slows an API call.
 *
 * The sandbox sends one event per change (Notion aggregates bursts over a
 * short window; a receiver must cope with both).
 *
 *   change                                   events
 *   page created (API, generated pages)      page.created; a row also <db>.content_updated
 *   blocks appended, updated, deleted        page.content_updated (updated_blocks)
 *   page properties set                      page.properties_updated (property ids)
 *   page in_trash set / cleared              page.deleted / page.undeleted
 *   database in_trash set / cleared          database.deleted / .undeleted (+ data_source.* from 2025-09-03)
 *   page moved                               page.moved (the new parent only)
 *   comment created                          comment.created (page_id, parent)
 *
 * <db>.content_updated is data_source.content_updated from Notion-Version
 * 2025-09-03 (database.content_updated is deprecated there), before it
 * database.content_updated. Comment events need read_comments, the rest read_content.
 */
import type { SandboxCapability } from './capabilities.js';
import { newId } from './ids.js';
import type { Located } from './reach.js';
import { locate } from './reach.js';
import { schemaOfPage } from './serialize.js';
import type { BlockRecord, CommentRecord, DatabaseRecord, PageRecord, ParentRef, SandboxState, WebhookApiVersion } from './state.js';
import type { WebhookSubscriptionRecord } from './state.js';
import { accessibleBy, authorOf, botsReaching, installedBotIds, reachingBotIds, subscriptionBots } from './webhook-audience.js';
import type { EventBody, NotionWebhookEvent, WebhookAuthor } from './webhook-payloads.js';
import { databaseEntity, webhookParent } from './webhook-payloads.js';

export interface ContentEvents {
  pageCreated(page: PageRecord, author: string): void;
  /** Blocks appended under a page or block. */
  blocksAppended(containerId: string, blocks: BlockRecord[], author: string): void;
  commentCreated(comment: CommentRecord): void;
  /**
   * Call before changing a page, block or database in place (properties,
   * trash, parent); call the answer after, with the property names the
   * request set. It compares before and after and emits what changed.
   */
  track(id: string): (author: string, updatedProperties?: string[]) => void;
}

export interface EmitterDeps {
  state: SandboxState;
  clock: () => Date;
  /** Verified subscriptions; events go to no other. */
  activeSubscriptions: () => WebhookSubscriptionRecord[];
  deliver: (subscription: WebhookSubscriptionRecord, event: NotionWebhookEvent) => void;
}

interface Change {
  workspaceId: string;
  /** The record whose reach decides who hears of the change: the entity, or a comment's page or block. */
  reachId: string;
  capability: SandboxCapability;
  authors: WebhookAuthor[];
  /** Bots that reached the entity before the change (a move): they hear of it as well. */
  reachedBefore?: ReadonlySet<string>;
  bodies: (version: WebhookApiVersion) => EventBody[];
}

/** A page, block or database as it was before an in-place change. */
interface Snapshot {
  parent: ParentRef;
  inTrash: boolean;
  /** For a page: every bot that reached it, so a move still tells those it takes the page from. */
  reachedBefore: ReadonlySet<string>;
}

const NOOP = () => undefined;

export function createContentEvents(deps: EmitterDeps): ContentEvents {
  const { state } = deps;

  function emit(change: Change): void {
    const subscriptions = deps.activeSubscriptions();
    if (subscriptions.length === 0) return;
    const workspace = state.workspaces.find((w) => w.id === change.workspaceId);
    if (!workspace) return;
    const installed = installedBotIds(state);
    const timestamp = deps.clock().toISOString();
    for (const subscription of subscriptions) {
      const candidates = subscriptionBots(state, subscription, workspace.id, installed, change.capability);
      const reaching = botsReaching(state, candidates, change.reachId, change.reachedBefore);
      if (reaching.length === 0) continue;
      const isPublic = subscription.integration.type === 'public';
      const integrationId = subscription.integration.type === 'public' ? subscription.integration.clientId : subscription.integration.botId;
      for (const body of change.bodies(subscription.apiVersion)) {
        if (subscription.eventTypes !== null && !subscription.eventTypes.includes(body.type)) continue;
        const event: NotionWebhookEvent = {
          id: newId(),
          timestamp,
          workspace_id: workspace.id,
          workspace_name: workspace.name,
          subscription_id: subscription.id,
          integration_id: integrationId,
          authors: change.authors,
          // Notion fills accessible_by for public integrations only.
          ...(isPublic ? { accessible_by: accessibleBy(reaching) } : {}),
          attempt_number: 1,
          api_version: subscription.apiVersion,
          ...body,
        };
        deps.deliver(subscription, event);
      }
    }
  }

  const parentOf = (parent: ParentRef, workspaceId: string, version: WebhookApiVersion) =>
    webhookParent(state, parent, workspaceId, version);

  function pageEvent(
    page: PageRecord,
    type: 'page.created' | 'page.deleted' | 'page.undeleted' | 'page.moved',
    author: string,
    reachedBefore?: ReadonlySet<string>,
  ): void {
    emit({
      workspaceId: page.workspaceId,
      reachId: page.id,
      capability: 'read_content',
      authors: [authorOf(state, author)],
      reachedBefore,
      bodies: (version): EventBody[] => [
        { type, entity: { id: page.id, type: 'page' }, data: { parent: parentOf(page.parent, page.workspaceId, version) } },
      ],
    });
  }

  /** A row added, changed, moved or trashed is a change to its database's content. */
  function rowChanged(parent: ParentRef, pageId: string, author: string): void {
    if (parent.type !== 'database_id') return;
    const database = state.databases[parent.id];
    if (!database) return;
    emit({
      workspaceId: database.workspaceId,
      reachId: database.id,
      capability: 'read_content',
      authors: [authorOf(state, author)],
      bodies: (version): EventBody[] => {
        const { entity, parent: dbParent } = databaseEntity(state, database, version);
        const data = { parent: dbParent, updated_blocks: [{ id: pageId, type: 'page' as const }] };
        return [
          version === '2025-09-03'
            ? { type: 'data_source.content_updated', entity, data }
            : { type: 'database.content_updated', entity, data },
        ];
      },
    });
  }

  function contentUpdated(pageId: string | null, blockIds: string[], author: string): void {
    const page = pageId === null ? undefined : state.pages[pageId];
    if (!page || blockIds.length === 0) return;
    emit({
      workspaceId: page.workspaceId,
      reachId: page.id,
      capability: 'read_content',
      authors: [authorOf(state, author)],
      bodies: (version): EventBody[] => [
        {
          type: 'page.content_updated',
          entity: { id: page.id, type: 'page' },
          data: { parent: parentOf(page.parent, page.workspaceId, version), updated_blocks: blockIds.map((id) => ({ id, type: 'block' })) },
        },
      ],
    });
  }

  function pageChanged(page: PageRecord, before: Snapshot, author: string, updatedProperties: string[]): void {
    if (!sameParent(before.parent, page.parent)) {
      pageEvent(page, 'page.moved', author, before.reachedBefore);
      rowChanged(before.parent, page.id, author);
      rowChanged(page.parent, page.id, author);
    }
    if (updatedProperties.length > 0) {
      const schema = schemaOfPage(state, page);
      const ids = updatedProperties.map((name) => schema[name]?.id ?? name);
      emit({
        workspaceId: page.workspaceId,
        reachId: page.id,
        capability: 'read_content',
        authors: [authorOf(state, author)],
        bodies: (version): EventBody[] => [
          {
            type: 'page.properties_updated',
            entity: { id: page.id, type: 'page' },
            data: { parent: parentOf(page.parent, page.workspaceId, version), updated_properties: ids },
          },
        ],
      });
      rowChanged(page.parent, page.id, author);
    }
    if (before.inTrash !== page.inTrash) {
      pageEvent(page, page.inTrash ? 'page.deleted' : 'page.undeleted', author);
      rowChanged(page.parent, page.id, author);
    }
  }

  function databaseTrashChanged(database: DatabaseRecord, author: string): void {
    emit({
      workspaceId: database.workspaceId,
      reachId: database.id,
      capability: 'read_content',
      authors: [authorOf(state, author)],
      bodies: (version): EventBody[] => {
        const parent = parentOf(database.parent, database.workspaceId, version);
        const entity = { id: database.id, type: 'database' as const };
        const bodies: EventBody[] = [
          database.inTrash
            ? { type: 'database.deleted', entity, data: { parent } }
            : { type: 'database.undeleted', entity, data: { parent } },
        ];
        if (version === '2025-09-03') {
          const source = databaseEntity(state, database, version);
          const data = { parent: source.parent };
          bodies.push(
            database.inTrash
              ? { type: 'data_source.deleted', entity: source.entity, data }
              : { type: 'data_source.undeleted', entity: source.entity, data },
          );
        }
        return bodies;
      },
    });
  }

  return {
    pageCreated(page, author) {
      pageEvent(page, 'page.created', author);
      rowChanged(page.parent, page.id, author);
    },

    blocksAppended(containerId, blocks, author) {
      contentUpdated(
        pageOf(state, containerId),
        blocks.map((b) => b.id),
        author,
      );
    },

    commentCreated(comment) {
      const pageId = pageOf(state, comment.parent.id);
      if (pageId === null) return;
      emit({
        workspaceId: comment.workspaceId,
        reachId: comment.parent.id,
        capability: 'read_comments',
        authors: [comment.author],
        bodies: (): EventBody[] => [
          {
            type: 'comment.created',
            entity: { id: comment.id, type: 'comment' },
            data: { page_id: pageId, parent: { id: comment.parent.id, type: comment.parent.type === 'page_id' ? 'page' : 'block' } },
          },
        ],
      });
    },

    track(id) {
      const located: Located | null = locate(state, id);
      if (!located || deps.activeSubscriptions().length === 0) return NOOP;
      const before: Snapshot = {
        parent: { ...located.record.parent },
        inTrash: located.record.inTrash,
        reachedBefore: located.kind === 'page' ? reachingBotIds(state, located.record.workspaceId, id) : new Set(),
      };
      return (author, updatedProperties = []) => {
        if (located.kind === 'page') pageChanged(located.record, before, author, updatedProperties);
        else if (located.kind === 'block') contentUpdated(pageOf(state, located.record.id), [located.record.id], author);
        else if (before.inTrash !== located.record.inTrash) databaseTrashChanged(located.record, author);
      };
    },
  };
}

function sameParent(a: ParentRef, b: ParentRef): boolean {
  return a.type === b.type && (a.type === 'workspace' || a.id === (b as { id: string }).id);
}

/** The page a block sits in (following block parents up), or the page itself. */
function pageOf(state: SandboxState, id: string): string | null {
  let current: string | null = id;
  for (let depth = 0; current !== null && depth < 1000; depth += 1) {
    if (state.pages[current]) return current;
    const block: BlockRecord | undefined = state.blocks[current];
    current = block ? block.parent.id : null;
  }
  return null;
}
