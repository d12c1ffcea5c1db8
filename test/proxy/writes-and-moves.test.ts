/**
 * Writes need their target or parent in scope; a page moved out of the
 * granted tree stops being reachable. Runs with Redis, so the ancestry
 * cache is the shared one production uses.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CommentObjectResponse, PageObjectResponse } from '@notionhq/client';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS, seedPageId } from '../../src/sandbox/notion/index.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, failure, partnerClient, type PartnerSession } from './partner-session.js';

const FULL = ['read_content', 'update_content', 'insert_content', 'read_comments', 'insert_comments', 'user_info_without_email'] as const;
const SERVICE_MAP = seedPageId('Acme', 'Service Map');

describe('writes and moves through the proxy', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let partner: PartnerSession;

  beforeAll(async () => {
    t = await startTestGatehouse({
      clock,
      redis: true,
      sandboxNotion: { rateLimitPerSecond: Infinity },
      tunables: { upstreamRequestsPerSecond: 10_000, upstreamBurst: 10_000 },
    });
    partner = await connectPartner(t.gatehouse, t.url, { capabilities: [...FULL], pageIds: [SEED_PAGE_IDS.engineering], clock });
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers', async () => {
    const anonymous = partnerClient(t.url, 'gh_at_not-a-token');
    expect((await failure(anonymous.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: {} }))).status).toBe(401);
  });

  it('creates a page under an in-scope parent, and reads it back', async () => {
    const created = (await partner.notion.pages.create({
      parent: { page_id: SEED_PAGE_IDS.dataModel.replace(/-/g, '') },
      properties: { title: { title: [{ text: { content: 'Schema notes' } }] } },
      children: [{ paragraph: { rich_text: [{ text: { content: 'Written through Gatehouse.' } }] } }],
    })) as PageObjectResponse;
    expect(created.parent).toMatchObject({ type: 'page_id', page_id: SEED_PAGE_IDS.dataModel });
    const again = (await partner.notion.pages.retrieve({ page_id: created.id })) as PageObjectResponse;
    expect(again.id).toBe(created.id);
    const children = await partner.notion.blocks.children.list({ block_id: created.id });
    expect(children.results).toHaveLength(1);
    // Appending, updating and deleting blocks inside the scope.
    const appended = await partner.notion.blocks.children.append({
      block_id: created.id,
      children: [{ paragraph: { rich_text: [{ text: { content: 'More.' } }] } }],
    });
    const blockId = appended.results[0]!.id;
    await partner.notion.blocks.update({ block_id: blockId, paragraph: { rich_text: [{ text: { content: 'Edited.' } }] } });
    await partner.notion.blocks.delete({ block_id: blockId });
    const archived = (await partner.notion.pages.update({ page_id: created.id, in_trash: true })) as PageObjectResponse;
    expect(archived.in_trash).toBe(true);
  });

  it('under an out-of-scope parent: 404 as Notion words it, and nothing is created', async () => {
    const before = (await partnerClient(`${t.url}/sandbox/notion`, await adaToken()).search({ query: 'Sneaky page' })).results.length;
    const refused = await failure(
      partner.notion.pages.create({
        parent: { page_id: SEED_PAGE_IDS.product },
        properties: { title: { title: [{ text: { content: 'Sneaky page' } }] } },
      }),
    );
    expect(refused.status).toBe(404);
    expect(refused.message).toBe(
      `Could not find page with ID: ${SEED_PAGE_IDS.product}. Make sure the relevant pages and databases are shared with your integration.`,
    );
    expect((await failure(partner.notion.blocks.children.append({ block_id: SEED_PAGE_IDS.product, children: [] }))).status).toBe(404);
    expect(
      (
        await failure(
          partner.notion.comments.create({ parent: { page_id: SEED_PAGE_IDS.roadmap2026 }, rich_text: [{ text: { content: 'hi' } }] }),
        )
      ).status,
    ).toBe(404);
    // A workspace-level page is outside every grant.
    expect(
      (await failure(partner.notion.pages.create({ parent: { type: 'workspace', workspace: true } as never, properties: {} }))).status,
    ).toBe(403);
    const after = (await partnerClient(`${t.url}/sandbox/notion`, await adaToken()).search({ query: 'Sneaky page' })).results.length;
    expect(after).toBe(before);
  });

  it('comments: a new discussion on an in-scope page, then a reply to it', async () => {
    const started = (await partner.notion.comments.create({
      parent: { page_id: SEED_PAGE_IDS.architecture },
      rich_text: [{ text: { content: 'Is this current?' } }],
    })) as CommentObjectResponse;
    const reply = (await partner.notion.comments.create({
      discussion_id: started.discussion_id,
      rich_text: [{ text: { content: 'Yes.' } }],
    })) as CommentObjectResponse;
    expect(reply.discussion_id).toBe(started.discussion_id);
    // A discussion Gatehouse has not seen in scope is answered as not found.
    expect(
      (
        await failure(
          partner.notion.comments.create({
            discussion_id: '0badc0de-0000-4000-8000-000000000001',
            rich_text: [{ text: { content: 'x' } }],
          }),
        )
      ).status,
    ).toBe(404);
  });

  it('a page moved out of the granted tree is unreachable after the cache lifetime', async () => {
    // Warm the cache: Architecture and a page below it.
    expect((await partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture })).id).toBe(SEED_PAGE_IDS.architecture);
    expect((await partner.notion.pages.retrieve({ page_id: SERVICE_MAP })).id).toBe(SERVICE_MAP);
    expect((await partner.notion.blocks.children.list({ block_id: SERVICE_MAP })).results.length).toBeGreaterThan(0);

    // Ada, who owns it, moves Architecture under Product (outside the grant) in Notion.
    await partnerClient(`${t.url}/sandbox/notion`, await adaToken()).pages.move({
      page_id: SEED_PAGE_IDS.architecture,
      parent: { page_id: SEED_PAGE_IDS.product },
    });

    // The moved page itself: Notion's fresh answer names its new parent, so it is out at once.
    expect((await failure(partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture }))).status).toBe(404);
    await t.gatehouse.indexer.idle();

    // Below it, after the cache lifetime (2 minutes).
    clock.advance(121_000);
    expect((await failure(partner.notion.blocks.children.list({ block_id: SERVICE_MAP }))).status).toBe(404);
    expect((await failure(partner.notion.pages.retrieve({ page_id: SERVICE_MAP }))).status).toBe(404);
    const found = await partner.notion.search({ query: 'Service Map' });
    expect(found.results).toEqual([]);
    // What stayed in the tree still works.
    expect((await partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.incidentResponse })).id).toBe(SEED_PAGE_IDS.incidentResponse);
  });

  async function adaToken(): Promise<string> {
    const connection = await t.gatehouse.stores.connections.findById(partner.connectionId);
    return decryptCredential(t.gatehouse.keyring, connection!.credentialCiphertext!, connection!.id).accessToken;
  }
});
