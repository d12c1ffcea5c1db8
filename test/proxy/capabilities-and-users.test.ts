/**
 * Capabilities in Notion's model (a missing one is 403 restricted_resource on
 * the matching calls only) and user objects shaped by the grant's
 * user-information level, everywhere in every answer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import type { Capability } from '../../src/oauth/capabilities.js';
import { SEED_PAGE_IDS, SEED_USER_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, failure, type PartnerSession } from './partner-session.js';

const CONTENT = ['read_content', 'update_content', 'insert_content', 'read_comments', 'insert_comments'] as const;
type Content = (typeof CONTENT)[number];

describe('capabilities and user information through the proxy', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;

  beforeAll(async () => {
    t = await startTestGatehouse({
      clock,
      sandboxNotion: { rateLimitPerSecond: Infinity },
      tunables: { upstreamRequestsPerSecond: 10_000, upstreamBurst: 10_000 },
    });
  });
  afterAll(async () => t.stop());

  const connect = (capabilities: Capability[], name: string) =>
    connectPartner(t.gatehouse, t.url, { capabilities, pageIds: [SEED_PAGE_IDS.engineering], clock, name });

  /** One call per capability, against in-scope content. */
  const callsNeeding = (p: PartnerSession): Record<Content, () => Promise<unknown>> => ({
    read_content: () => p.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture }),
    update_content: () => p.notion.pages.update({ page_id: SEED_PAGE_IDS.dataModel, icon: { type: 'emoji', emoji: '📐' } }),
    insert_content: () =>
      p.notion.blocks.children.append({
        block_id: SEED_PAGE_IDS.dataModel,
        children: [{ paragraph: { rich_text: [{ text: { content: `by ${p.grantId}` } }] } }],
      }),
    read_comments: () => p.notion.comments.list({ block_id: SEED_PAGE_IDS.engineering }),
    insert_comments: () =>
      p.notion.comments.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, rich_text: [{ text: { content: 'Looks good.' } }] }),
  });

  it('rejects unauthenticated callers before looking at capabilities', async () => {
    const response = await fetch(`${t.url}/v1/comments?block_id=${SEED_PAGE_IDS.engineering}`, {
      headers: { 'notion-version': '2025-09-03' },
    });
    expect(response.status).toBe(401);
  });

  it.each(CONTENT)('without %s: 403 restricted_resource on its calls, the others work', async (missing) => {
    const partner = await connect([...CONTENT.filter((c) => c !== missing), 'user_info_without_email'], `Partner without ${missing}`);
    const calls = callsNeeding(partner);
    for (const capability of CONTENT) {
      if (capability === missing) {
        const refused = await failure(calls[capability]());
        expect({ capability, status: refused.status, code: refused.code }).toEqual({
          capability,
          status: 403,
          code: 'restricted_resource',
        });
      } else {
        await expect(calls[capability]()).resolves.toBeDefined();
      }
    }
    const audit = await t.gatehouse.stores.audit.list({ action: 'proxy.refused' });
    expect(audit.some((e) => e.target?.id === partner.grantId && e.detail?.reason === 'missing_capability')).toBe(true);
  });

  it('more calls by capability: search and block reads need read_content, deletes need update_content, creating pages insert_content', async () => {
    const readOnly = await connect(['read_content', 'no_user_info'], 'Read-only partner');
    await expect(readOnly.notion.search({ query: 'Architecture' })).resolves.toBeDefined();
    expect((await failure(readOnly.notion.blocks.delete({ block_id: SEED_PAGE_IDS.entityGlossary }))).status).toBe(403);
    expect(
      (
        await failure(
          readOnly.notion.pages.create({
            parent: { page_id: SEED_PAGE_IDS.engineering },
            properties: { title: { title: [{ text: { content: 'x' } }] } },
          }),
        )
      ).status,
    ).toBe(403);
    expect((await failure(readOnly.notion.pages.update({ page_id: SEED_PAGE_IDS.entityGlossary, in_trash: true }))).status).toBe(403);
    const writeOnly = await connect(['insert_content', 'no_user_info'], 'Insert-only partner');
    expect((await failure(writeOnly.notion.search({}))).status).toBe(403);
    expect((await failure(writeOnly.notion.blocks.children.list({ block_id: SEED_PAGE_IDS.engineering }))).status).toBe(403);
    const created = await writeOnly.notion.pages.create({
      parent: { page_id: SEED_PAGE_IDS.engineering },
      properties: { title: { title: [{ text: { content: 'Inserted page' } }] } },
    });
    expect(created.id).toBeTruthy();
    // users.me works with any capability.
    expect((await writeOnly.notion.users.me({})).id).toBe(writeOnly.grantId);
  });

  describe("user objects shaped by the grant's level", () => {
    const levels = ['user_info_with_email', 'user_info_without_email', 'no_user_info'] as const;
    const partners = {} as Record<(typeof levels)[number], PartnerSession>;
    beforeAll(async () => {
      for (const level of levels) partners[level] = await connect([...CONTENT, level], `Partner ${level}`);
    });

    it("users.me answers the grant's own bot, its owner shaped by level", async () => {
      const withEmail = await partners.user_info_with_email.notion.users.me({});
      expect(withEmail).toMatchObject({
        object: 'user',
        id: partners.user_info_with_email.grantId,
        type: 'bot',
        name: 'Partner user_info_with_email',
        bot: {
          owner: { type: 'user', user: { id: SEED_USER_IDS.ada, name: 'Ada Lovelace', person: { email: 'ada@example.com' } } },
          workspace_name: 'Acme',
        },
      });
      const withoutEmail = await partners.user_info_without_email.notion.users.me({});
      expect(withoutEmail).toMatchObject({
        id: partners.user_info_without_email.grantId,
        bot: { owner: { user: { name: 'Ada Lovelace', person: {} } } },
      });
      expect(JSON.stringify(withoutEmail)).not.toContain('@example.com');
      const none = await partners.no_user_info.notion.users.me({});
      expect((none as { bot: { owner: { user: unknown } } }).bot.owner.user).toEqual({ object: 'user', id: SEED_USER_IDS.ada });
      // Never Gatehouse's upstream bot.
      const connection = await t.gatehouse.stores.connections.findById(partners.no_user_info.connectionId);
      expect(JSON.stringify([withEmail, withoutEmail, none])).not.toContain(connection!.botId);
    });

    it('users.list and users.retrieve: people by level, no bots; no user information is 403 as in Notion', async () => {
      const full = await partners.user_info_with_email.notion.users.list({ page_size: 1 });
      expect(full.results).toHaveLength(1);
      expect(full.has_more).toBe(true);
      const all = [
        ...full.results,
        ...(await partners.user_info_with_email.notion.users.list({ start_cursor: full.next_cursor! })).results,
      ];
      expect(all.map((u) => u.type)).toEqual(['person', 'person']);
      expect(all.find((u) => u.id === SEED_USER_IDS.ben)).toMatchObject({ name: 'Ben Bitdiddle', person: { email: 'ben@example.com' } });
      const noEmail = await partners.user_info_without_email.notion.users.list({});
      expect(noEmail.results.map((u) => u.type)).toEqual(['person', 'person']);
      expect(JSON.stringify(noEmail)).not.toContain('@example.com');
      expect(noEmail.results[0]).toMatchObject({ name: expect.any(String), person: {} });
      expect(await partners.user_info_without_email.notion.users.retrieve({ user_id: SEED_USER_IDS.ada })).toMatchObject({
        name: 'Ada Lovelace',
        person: {},
      });
      expect((await failure(partners.no_user_info.notion.users.list({}))).status).toBe(403);
      expect((await failure(partners.no_user_info.notion.users.retrieve({ user_id: SEED_USER_IDS.ada }))).status).toBe(403);
      const connection = await t.gatehouse.stores.connections.findById(partners.user_info_with_email.connectionId);
      expect((await failure(partners.user_info_with_email.notion.users.retrieve({ user_id: connection!.botId }))).status).toBe(404);
      expect((await partners.user_info_with_email.notion.users.retrieve({ user_id: partners.user_info_with_email.grantId })).type).toBe(
        'bot',
      );
    });

    it('user objects inside content answers (comments, created_by) follow the level', async () => {
      for (const level of levels) {
        const comments = await partners[level].notion.comments.list({ block_id: SEED_PAGE_IDS.engineering });
        expect(comments.results.length).toBeGreaterThanOrEqual(2);
        const byAda = comments.results.find((c) => c.created_by.id === SEED_USER_IDS.ada)!;
        expect(byAda.display_name.resolved_name).toBe(level === 'no_user_info' ? null : 'Ada Lovelace');
        const text = JSON.stringify(comments);
        if (level !== 'user_info_with_email') expect(text).not.toContain('@example.com');
        if (level === 'no_user_info') expect(text).not.toMatch(/Ada Lovelace|Ben Bitdiddle/);
      }
    });
  });
});
