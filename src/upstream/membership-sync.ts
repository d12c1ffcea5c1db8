/**
 * Membership follows Notion: a person is a member of a workspace while they
 * are on its Notion member list (read through any working connection to it).
 * Periodically and at sign-in, Gatehouse compares; a person who left is
 * marked so and audited (revoking their grants belongs to the admin issue),
 * a known person newly on the list joins as a member.
 */
import { isNotionClientError, type Client } from '@notionhq/client';
import type { Logger } from 'pino';
import type { AuditStore } from '../store/audit.js';
import type { PeopleStore } from '../store/people.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import type { CredentialDeps } from './credentials.js';
import type { UpstreamGateway } from './gateway.js';

export interface MembershipDeps extends CredentialDeps {
  people: PeopleStore;
  workspaces: WorkspaceStore;
  connections: UpstreamConnectionStore;
  audit: AuditStore;
  logger: Logger;
  /** Reading the member list spends the workspace's Notion budget as partner "gatehouse". */
  gateway: UpstreamGateway;
  /** Called once for a person marked left: revokes their grants in that workspace (src/admin/revocation.ts). */
  onLeft?: (workspaceId: string, personId: string) => Promise<void>;
}

interface NotionMember {
  id: string;
  email: string | null;
}

async function readMemberList(deps: MembershipDeps, workspaceId: string): Promise<NotionMember[] | null> {
  for (const connection of await deps.connections.listActiveForWorkspace(workspaceId)) {
    try {
      // One gateway call per page: each upstream request takes its own share of the workspace's budget.
      const users: Awaited<ReturnType<Client['users']['list']>>['results'] = [];
      let cursor: string | undefined;
      do {
        const page = await deps.gateway.call({ connectionId: connection.id, workspaceId, partnerKey: 'gatehouse' }, (client) =>
          client.users.list({ page_size: 100, ...(cursor ? { start_cursor: cursor } : {}) }),
        );
        users.push(...page.results);
        cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
      } while (cursor);
      return users
        .filter((u) => 'type' in u && u.type === 'person')
        .map((u) => ({ id: u.id, email: 'person' in u && u.person?.email ? u.person.email.toLowerCase() : null }));
    } catch (err) {
      // This connection cannot read the list (no user capability, broken): try the next one.
      if (!isNotionClientError(err)) deps.logger.debug({ err: String(err), workspaceId }, 'member list unreadable through connection');
    }
  }
  return null;
}

export async function syncWorkspaceMembers(
  deps: MembershipDeps,
  workspaceId: string,
): Promise<{ left: string[]; joined: string[] } | null> {
  const list = await readMemberList(deps, workspaceId);
  if (list === null) return null; // Unknown is not "everyone left".
  const ids = new Set(list.map((m) => m.id));
  const emails = new Set(list.flatMap((m) => (m.email ? [m.email] : [])));
  const now = deps.clock.now();
  const left: string[] = [];
  const joined: string[] = [];

  for (const member of await deps.workspaces.listMembers(workspaceId)) {
    if (member.status !== 'active') continue;
    const person = await deps.people.findById(member.personId);
    if (!person) continue;
    const notionIds = (await deps.connections.listForPerson(person.id)).filter((c) => c.kind === 'oauth').map((c) => c.notionUserId);
    const onList = notionIds.some((id) => ids.has(id)) || emails.has(person.email.toLowerCase());
    if (!onList && (await deps.workspaces.markLeft(workspaceId, person.id, now))) {
      left.push(person.id);
      await deps.audit.record(
        {
          action: 'workspace_member.left',
          actor: { type: 'system' },
          target: { type: 'person', id: person.id },
          workspaceId,
          outcome: 'success',
          detail: { reason: 'not on the Notion member list' },
        },
        now,
      );
      await deps.onLeft?.(workspaceId, person.id);
    }
  }

  for (const email of emails) {
    for (const person of await deps.people.findByEmail(email)) {
      const membership = await deps.workspaces.membership(workspaceId, person.id);
      if (membership?.status === 'active') continue;
      await deps.workspaces.ensureMember(workspaceId, person.id, now);
      joined.push(person.id);
      await deps.audit.record(
        {
          action: 'workspace_member.joined',
          actor: { type: 'system' },
          target: { type: 'person', id: person.id },
          workspaceId,
          outcome: 'success',
          detail: { reason: 'on the Notion member list' },
        },
        now,
      );
    }
  }
  return { left, joined };
}

/** Runs the sync for every workspace, coalescing requests that arrive while one is running. */
export class MembershipSync {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: MembershipDeps) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runAll().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
  }

  private async runAll(): Promise<void> {
    try {
      for (const workspace of await this.deps.workspaces.listAll()) {
        await syncWorkspaceMembers(this.deps, workspace.id).catch((err) =>
          this.deps.logger.warn({ err: String(err), workspaceId: workspace.id }, 'membership sync failed'),
        );
      }
    } catch (err) {
      this.deps.logger.warn({ err: String(err) }, 'membership sync could not run');
    }
  }

  startPeriodic(intervalMs: number): void {
    this.timer = setInterval(() => this.request(), intervalMs);
    this.timer.unref();
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.again = false;
    await this.idle();
  }
}
