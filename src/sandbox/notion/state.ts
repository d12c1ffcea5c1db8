/**
 * The sandbox's whole world as one plain JSON document, and the store that
 * persists it.
 *
 * Invariant: the file on disk is always a complete, parseable document. Every
 * write goes to a temporary file in the same folder and is renamed over the
 * old one (rename is atomic on POSIX), so a crash mid-write leaves the previous
 * state. Writes are debounced (many mutations, one write) and close() flushes.
 * Secrets (tokens, codes, sessions, client secrets) are kept as SHA-256 hashes,
 * except webhook verification tokens: they are the HMAC key of every delivery,
 * so they must be kept readable (the file is written with mode 0600).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RichTextItemResponse, ApiColor } from '@notionhq/client';
import type { SandboxCapability } from './capabilities.js';

export const STATE_VERSION = 1;

export type RichText = RichTextItemResponse[];

export interface PersonRecord {
  id: string;
  name: string;
  email: string;
  passwordHash: string;
  avatarUrl: string | null;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  icon: string | null;
  memberIds: string[];
}

/** Where a page, database or block sits. */
export type ParentRef =
  { type: 'workspace' } | { type: 'page_id'; id: string } | { type: 'block_id'; id: string } | { type: 'database_id'; id: string };

export type PageIcon = { type: 'emoji'; emoji: string } | { type: 'external'; external: { url: string } };

export type StoredPropertyValue =
  | { type: 'title'; title: RichText }
  | { type: 'rich_text'; rich_text: RichText }
  | { type: 'select'; optionId: string | null }
  | { type: 'relation'; pageIds: string[] };

export interface PageRecord {
  id: string;
  workspaceId: string;
  parent: ParentRef;
  /** Keyed by property name; a plain page has the single property "title". */
  properties: Record<string, StoredPropertyValue>;
  icon: PageIcon | null;
  inTrash: boolean;
  createdTime: string;
  lastEditedTime: string;
  createdBy: string;
  lastEditedBy: string;
}

export interface SelectOption {
  id: string;
  name: string;
  color: 'default' | 'gray' | 'brown' | 'orange' | 'yellow' | 'green' | 'blue' | 'purple' | 'pink' | 'red';
}

export type StoredPropertySchema =
  | { id: string; type: 'title' }
  | { id: string; type: 'rich_text' }
  | { id: string; type: 'select'; options: SelectOption[] }
  | { id: string; type: 'relation'; databaseId: string };

/** A database with exactly one data source (as every database created before 2025-09-03 has). */
export interface DatabaseRecord {
  id: string;
  dataSourceId: string;
  workspaceId: string;
  parent: ParentRef;
  title: RichText;
  /** Keyed by property name. */
  properties: Record<string, StoredPropertySchema>;
  icon: PageIcon | null;
  inTrash: boolean;
  isInline: boolean;
  createdTime: string;
  lastEditedTime: string;
  createdBy: string;
  lastEditedBy: string;
}

interface TextContent {
  rich_text: RichText;
  color: ApiColor;
}

/** The block types the sandbox stores; child_page / child_database are derived from pages and databases. */
export type StoredBlockContent =
  | { type: 'paragraph'; paragraph: TextContent }
  | { type: 'heading_1'; heading_1: TextContent & { is_toggleable: boolean } }
  | { type: 'heading_2'; heading_2: TextContent & { is_toggleable: boolean } }
  | { type: 'heading_3'; heading_3: TextContent & { is_toggleable: boolean } }
  | { type: 'bulleted_list_item'; bulleted_list_item: TextContent }
  | { type: 'numbered_list_item'; numbered_list_item: TextContent }
  | { type: 'quote'; quote: TextContent }
  | { type: 'toggle'; toggle: TextContent }
  | { type: 'to_do'; to_do: TextContent & { checked: boolean } }
  | { type: 'divider'; divider: Record<string, never> }
  | { type: 'link_to_page'; link_to_page: { type: 'page_id'; page_id: string } | { type: 'database_id'; database_id: string } };

export type StoredBlockType = StoredBlockContent['type'];

export interface BlockRecord {
  id: string;
  workspaceId: string;
  parent: { type: 'page_id'; id: string } | { type: 'block_id'; id: string };
  content: StoredBlockContent;
  inTrash: boolean;
  createdTime: string;
  lastEditedTime: string;
  createdBy: string;
  lastEditedBy: string;
}

export interface CommentRecord {
  id: string;
  discussionId: string;
  workspaceId: string;
  parent: { type: 'page_id'; id: string } | { type: 'block_id'; id: string };
  richText: RichText;
  author: { type: 'person' | 'bot'; id: string };
  createdTime: string;
}

export interface OAuthClientRecord {
  clientId: string;
  clientSecretHash: string;
  redirectUris: string[];
  name: string;
  capabilities: SandboxCapability[];
}

/** A bot user: one per (OAuth client, person, workspace), or one internal integration. */
export interface IntegrationRecord {
  botId: string;
  kind: 'public' | 'internal';
  clientId: string | null;
  name: string;
  /** The person who authorised a public integration; null for internal ones. */
  personId: string | null;
  workspaceId: string;
  capabilities: SandboxCapability[];
  /** Pages and databases picked; everything below them is reached too. */
  reach: string[];
  createdTime: string;
}

export interface TokenRecord {
  kind: 'access' | 'refresh' | 'internal';
  botId: string;
  /** An access token and the refresh token issued with it share a pair id (revoking one revokes both). */
  pairId: string;
  issuedAt: string;
  expiresAt: string | null;
}

export interface AuthorizationCodeRecord {
  clientId: string;
  /** The redirect_uri sent on the authorize URL, null when omitted. */
  redirectUri: string | null;
  personId: string;
  workspaceId: string;
  pageIds: string[];
  expiresAt: string;
}

export interface SignInSessionRecord {
  personId: string;
  createdAt: string;
}

/**
 * An authorisation transaction on the sandbox's own consent page.
 *
 *   pending ──sign in──▶ signed_in ──Allow──▶ code_issued
 *      │                    │
 *      └──────Cancel────────┴──────▶ denied          (any state ──30 min──▶ expired)
 */
export interface AuthorizeTransactionRecord {
  id: string;
  status: 'pending' | 'signed_in' | 'code_issued' | 'denied';
  clientId: string;
  redirectUri: string;
  redirectUriSent: boolean;
  state: string | null;
  /** Per-transaction anti-forgery token carried by every form of the flow. */
  formToken: string;
  createdAt: string;
}

/** The Notion-Version a webhook subscription's events follow (database vs data source events and parents). */
export type WebhookApiVersion = '2022-06-28' | '2025-09-03';

/**
 * A webhook subscription, one per integration as in Notion: a public
 * integration's (an OAuth client's) receives the events of every workspace
 * where it is installed; an internal integration's only its own.
 *
 *   pending ──verify(token)──▶ active          (only active ones receive events)
 */
export interface WebhookSubscriptionRecord {
  id: string;
  integration: { type: 'public'; clientId: string } | { type: 'internal'; botId: string };
  url: string;
  /** Notion event type names; null = every type. */
  eventTypes: string[] | null;
  apiVersion: WebhookApiVersion;
  status: 'pending' | 'active';
  verificationToken: string;
  createdTime: string;
}

export interface SandboxState {
  version: number;
  persons: PersonRecord[];
  workspaces: WorkspaceRecord[];
  pages: Record<string, PageRecord>;
  databases: Record<string, DatabaseRecord>;
  blocks: Record<string, BlockRecord>;
  /** Ordered content of a page or block: block ids, and the ids of child pages and databases. */
  children: Record<string, string[]>;
  comments: Record<string, CommentRecord>;
  oauthClients: Record<string, OAuthClientRecord>;
  integrations: Record<string, IntegrationRecord>;
  tokens: Record<string, TokenRecord>;
  codes: Record<string, AuthorizationCodeRecord>;
  sessions: Record<string, SignInSessionRecord>;
  transactions: Record<string, AuthorizeTransactionRecord>;
  /** Counter so that generated page batches get unique titles. */
  generatedBatches: number;
  /** Absent in state files written before webhooks existed; filled in at load. */
  webhookSubscriptions: Record<string, WebhookSubscriptionRecord>;
}

export class StateStore {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly state: SandboxState,
    private readonly file: string | null,
    private readonly debounceMs = 20,
  ) {}

  static async load(file: string | null, seed: () => SandboxState): Promise<StateStore> {
    if (file === null) return new StateStore(seed(), null);
    let state: SandboxState;
    try {
      state = JSON.parse(await readFile(file, 'utf8')) as SandboxState;
      if (state.version !== STATE_VERSION) throw new Error(`unsupported state version ${String(state.version)} in ${file}`);
      // Added without a version bump: older files simply have no subscriptions yet.
      state.webhookSubscriptions ??= {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      state = seed();
    }
    const store = new StateStore(state, file);
    await store.flush();
    return store;
  }

  /** Call after every mutation. */
  changed(): void {
    if (this.file === null || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((err: unknown) => console.error('[sandbox-notion] could not save state', err));
    }, this.debounceMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const file = this.file;
    if (file === null) return;
    // Serialise writes so an older snapshot never renames over a newer one.
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(path.dirname(file), { recursive: true });
        const temp = `${file}.${process.pid}.tmp`;
        await writeFile(temp, JSON.stringify(this.state), { mode: 0o600 });
        await rename(temp, file);
      });
    return this.writing;
  }
}
