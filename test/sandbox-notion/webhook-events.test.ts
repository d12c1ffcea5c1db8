/**
 * Which events a change through the sandbox API produces, in Notion's shapes,
 * and who they reach: Ada and Ben both authorised Gatehouse on Acme with
 * different pages (Ada: Engineering, Product and the Projects database; Ben:
 * Engineering), so accessible_by must list exactly the people whose pages
 * cover the entity. A housekeeping internal bot reaching all of Acme makes
 * the changes nobody else may.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@notionhq/client';
import { SEED_DATA_SOURCE_IDS, SEED_DATABASE_IDS, SEED_PAGE_IDS, SEED_USER_IDS, seedPageId } from '../../src/sandbox/notion/index.js';
import type { NotionWebhookEvent } from '../../src/sandbox/notion/index.js';
import { GATEHOUSE_CLIENT, startSandbox } from './harness.js';
import type { RunningSandbox } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

const title = (content: string) => ({ title: { title: [{ text: { content } }] } });
const paragraph = (content: string) => ({ paragraph: { rich_text: [{ text: { content } }] } });

let running: RunningSandbox;
let receiver: WebhookReceiver;
let ada: Client;
let ben: Client;
let housekeeper: Client;
let bots: { ada: string; ben: string };
let benToken: string;

beforeAll(async () => {
  running = await startSandbox({ rateLimitPerSecond: Infinity, webhooks: { retryDelaysMs: [2] } });
  receiver = await WebhookReceiver.start();
  const grant = (email: string, pageIds: string[]) =>
    running.sandbox.grantDirect({ clientId: GATEHOUSE_CLIENT.clientId, email, workspaceName: 'Acme', pageIds });
  const adaGrant = await grant('ada@example.com', [SEED_PAGE_IDS.engineering, SEED_PAGE_IDS.product, SEED_DATABASE_IDS.projects]);
  const benGrant = await grant('ben@example.com', [SEED_PAGE_IDS.engineering]);
  ada = running.client(adaGrant.access_token);
  ben = running.client(benGrant.access_token);
  benToken = benGrant.access_token;
  bots = { ada: adaGrant.bot_id, ben: benGrant.bot_id };
  const internal = await running.sandbox.createInternalIntegration({
    workspaceName: 'Acme',
    name: 'Housekeeper',
    capabilities: ['read_content', 'update_content', 'insert_content'],
  });
  housekeeper = running.client(internal.token);
  const { id } = await running.sandbox.webhooks.subscribe({ clientId: GATEHOUSE_CLIENT.clientId }, receiver.url);
  await running.sandbox.webhooks.idle();
  await running.sandbox.webhooks.verify(id, receiver.verificationToken());
});
afterAll(async () => {
  await running.stop();
  await receiver.stop();
});

/** The events sent since the last call, signatures checked. */
async function sent(): Promise<NotionWebhookEvent[]> {
  await running.sandbox.webhooks.idle();
  const events = await receiver.events();
  receiver.clearEvents();
  return events;
}

const audience = (event: NotionWebhookEvent) =>
  (event.accessible_by ?? []).map((m) => `${m.type}:${m.id}`).sort((a, b) => a.localeCompare(b));
const people = (...ids: string[]) => ids.map((id) => `person:${id}`);
const botsOf = (...ids: string[]) => ids.map((id) => `bot:${id}`);
const sorted = (values: string[]) => [...values].sort((a, b) => a.localeCompare(b));

describe('accessible_by', () => {
  it('lists both people and their bots for a page under a page both picked', async () => {
    await ben.pages.create({ parent: { page_id: SEED_PAGE_IDS.architecture }, properties: title('Shared page') });
    const [event] = await sent();
    expect(event).toMatchObject({ type: 'page.created', authors: [{ id: bots.ben, type: 'bot' }] });
    expect(audience(event)).toEqual(sorted([...people(SEED_USER_IDS.ada, SEED_USER_IDS.ben), ...botsOf(bots.ada, bots.ben)]));
  });

  it('lists only Ada for a page only Ada picked', async () => {
    await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.roadmap2026 }, properties: title('Ada only') });
    const [event] = await sent();
    expect(audience(event)).toEqual(sorted([...people(SEED_USER_IDS.ada), ...botsOf(bots.ada)]));
  });

  it('sends nothing for a page no grant reaches', async () => {
    await housekeeper.pages.create({ parent: { page_id: SEED_PAGE_IDS.design }, properties: title('Nobody sees this') });
    expect(await sent()).toEqual([]);
  });
});

describe('page events', () => {
  let pageId: string;
  beforeAll(async () => {
    pageId = (await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Lifecycle') })).id;
    await sent();
  });

  it('page.content_updated names the appended, updated and deleted blocks', async () => {
    const appended = await ada.blocks.children.append({ block_id: pageId, children: [paragraph('One'), paragraph('Two')] });
    const [first, second] = appended.results.map((b) => b.id);
    await ada.blocks.update({ block_id: first, ...paragraph('One, edited') });
    await ada.blocks.delete({ block_id: second });
    const events = await sent();
    const expected = (ids: string[]) => ({
      type: 'page.content_updated',
      entity: { id: pageId, type: 'page' },
      data: { parent: { id: SEED_PAGE_IDS.engineering, type: 'page' }, updated_blocks: ids.map((id) => ({ id, type: 'block' })) },
    });
    expect(events).toEqual([
      expect.objectContaining(expected([first, second])),
      expect.objectContaining(expected([first])),
      expect.objectContaining(expected([second])),
    ]);
  });

  it('page.content_updated for a nested block names its page', async () => {
    const [toggle] = (await ada.blocks.children.append({ block_id: pageId, children: [{ toggle: { rich_text: [] } }] })).results;
    await sent();
    const [child] = (await ada.blocks.children.append({ block_id: toggle.id, children: [paragraph('Inside')] })).results;
    const [event] = await sent();
    expect(event).toMatchObject({ type: 'page.content_updated', entity: { id: pageId }, data: { updated_blocks: [{ id: child.id }] } });
  });

  it('page.properties_updated gives property ids', async () => {
    await ada.pages.update({ page_id: pageId, properties: title('Lifecycle, renamed') });
    expect(await sent()).toEqual([
      expect.objectContaining({
        type: 'page.properties_updated',
        entity: { id: pageId, type: 'page' },
        data: { parent: { id: SEED_PAGE_IDS.engineering, type: 'page' }, updated_properties: ['title'] },
      }),
    ]);
  });

  it('page.deleted and page.undeleted follow in_trash', async () => {
    await ada.pages.update({ page_id: pageId, in_trash: true });
    await ada.pages.update({ page_id: pageId, in_trash: false });
    const events = await sent();
    expect(events.map((e) => [e.type, e.entity.id])).toEqual([
      ['page.deleted', pageId],
      ['page.undeleted', pageId],
    ]);
    expect(events[0]).toMatchObject({ data: { parent: { id: SEED_PAGE_IDS.engineering, type: 'page' } } });
  });

  it('deleting a page through the blocks endpoint is page.deleted', async () => {
    await ada.blocks.delete({ block_id: pageId });
    expect((await sent()).map((e) => e.type)).toEqual(['page.deleted']);
    await ada.pages.update({ page_id: pageId, in_trash: false });
    await sent();
  });

  it('page.moved carries the new parent and reaches whoever saw the page before or after', async () => {
    await ada.pages.move({ page_id: pageId, parent: { type: 'page_id', page_id: SEED_PAGE_IDS.product } });
    const [moved] = await sent();
    expect(moved).toMatchObject({
      type: 'page.moved',
      entity: { id: pageId },
      data: { parent: { id: SEED_PAGE_IDS.product, type: 'page' } },
    });
    // Ben reached it under Engineering only: he hears of the move that took it from him.
    expect(audience(moved)).toEqual(sorted([...people(SEED_USER_IDS.ada, SEED_USER_IDS.ben), ...botsOf(bots.ada, bots.ben)]));

    await housekeeper.pages.move({ page_id: pageId, parent: { type: 'page_id', page_id: SEED_PAGE_IDS.design } });
    const [out] = await sent();
    expect(out).toMatchObject({ type: 'page.moved', data: { parent: { id: SEED_PAGE_IDS.design, type: 'page' } } });
    expect(audience(out)).toEqual(sorted([...people(SEED_USER_IDS.ada), ...botsOf(bots.ada)]));

    // Moves no grant sees, before or after, send nothing.
    await housekeeper.pages.move({ page_id: pageId, parent: { type: 'page_id', page_id: seedPageId('Acme', 'Brand Guidelines') } });
    expect(await sent()).toEqual([]);
  });
});

describe('comment events', () => {
  it('comment.created carries page_id and the parent, for a page and for a block', async () => {
    await ada.comments.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, rich_text: [{ text: { content: 'On the page' } }] });
    const [onPage] = await sent();
    expect(onPage).toMatchObject({
      type: 'comment.created',
      entity: { type: 'comment' },
      authors: [{ id: bots.ada, type: 'bot' }],
      data: { page_id: SEED_PAGE_IDS.engineering, parent: { id: SEED_PAGE_IDS.engineering, type: 'page' } },
    });
    const [block] = (await ada.blocks.children.list({ block_id: SEED_PAGE_IDS.engineering })).results;
    await sent();
    await ada.comments.create({ parent: { block_id: block.id }, rich_text: [{ text: { content: 'On a block' } }] });
    const [onBlock] = await sent();
    expect(onBlock).toMatchObject({
      type: 'comment.created',
      data: { page_id: SEED_PAGE_IDS.engineering, parent: { id: block.id, type: 'block' } },
    });
    expect(audience(onBlock)).toEqual(sorted([...people(SEED_USER_IDS.ada, SEED_USER_IDS.ben), ...botsOf(bots.ada, bots.ben)]));
  });
});

describe('capabilities', () => {
  it('comment events go only to integrations that may read comments', async () => {
    const noComments = await WebhookReceiver.start();
    try {
      const { botId } = await running.sandbox.createInternalIntegration({
        workspaceName: 'Acme',
        name: 'Reader',
        capabilities: ['read_content'],
        pageIds: [SEED_PAGE_IDS.engineering],
      });
      const { id } = await running.sandbox.webhooks.subscribe({ internalIntegrationId: botId }, noComments.url);
      await running.sandbox.webhooks.idle();
      await running.sandbox.webhooks.verify(id, noComments.verificationToken());
      await ada.comments.create({
        parent: { page_id: SEED_PAGE_IDS.engineering },
        rich_text: [{ text: { content: 'Hidden from readers' } }],
      });
      expect((await sent()).map((e) => e.type)).toEqual(['comment.created']);
      expect(await noComments.events()).toEqual([]);
      await running.sandbox.webhooks.unsubscribe(id);
    } finally {
      await noComments.stop();
    }
  });
});

describe('data source events', () => {
  const dataSource = { id: SEED_DATA_SOURCE_IDS.projects, type: 'data_source' };
  const inDatabase = { id: SEED_DATABASE_IDS.projects, type: 'database' };

  it('a row added is page.created under the data source, and data_source.content_updated', async () => {
    const row = await ada.pages.create({
      parent: { data_source_id: SEED_DATA_SOURCE_IDS.projects },
      properties: { Name: { title: [{ text: { content: 'Webhooks' } }] } },
    });
    expect(await sent()).toEqual([
      expect.objectContaining({
        type: 'page.created',
        entity: { id: row.id, type: 'page' },
        data: { parent: { ...inDatabase, data_source_id: SEED_DATA_SOURCE_IDS.projects } },
      }),
      expect.objectContaining({
        type: 'data_source.content_updated',
        entity: dataSource,
        data: { parent: inDatabase, updated_blocks: [{ id: row.id, type: 'page' }] },
      }),
    ]);
  });

  it('a row property change is page.properties_updated with the property id', async () => {
    const row = seedPageId('Acme', 'Hiring Plan');
    await ada.pages.update({ page_id: row, properties: { Status: { select: { name: 'Done' } } } });
    const events = await sent();
    expect(events.map((e) => e.type)).toEqual(['page.properties_updated', 'data_source.content_updated']);
    expect(events[0]).toMatchObject({ data: { updated_properties: ['stat'] } });
  });

  it('trashing and restoring the database is database.* and data_source.* deleted / undeleted', async () => {
    await ada.blocks.delete({ block_id: SEED_DATABASE_IDS.projects });
    await ada.blocks.update({ block_id: SEED_DATABASE_IDS.projects, in_trash: false });
    const events = await sent();
    expect(events.map((e) => [e.type, e.entity])).toEqual([
      ['database.deleted', inDatabase],
      ['data_source.deleted', dataSource],
      ['database.undeleted', inDatabase],
      ['data_source.undeleted', dataSource],
    ]);
    expect(events[0]).toMatchObject({ data: { parent: { id: running.sandbox.workspaces()[0].id, type: 'space' } } });
  });
});

describe('a subscription on Notion-Version 2022-06-28', () => {
  it('gets database.content_updated and database parents without data sources', async () => {
    const legacyReceiver = await WebhookReceiver.start();
    try {
      const { token, botId } = await running.sandbox.createInternalIntegration({
        workspaceName: 'Acme',
        name: 'Legacy',
        capabilities: ['read_content', 'insert_content'],
        pageIds: [SEED_DATABASE_IDS.projects],
      });
      const { id } = await running.sandbox.webhooks.subscribe(
        { internalIntegrationId: botId },
        legacyReceiver.url,
        undefined,
        '2022-06-28',
      );
      await running.sandbox.webhooks.idle();
      await running.sandbox.webhooks.verify(id, legacyReceiver.verificationToken());
      const row = await running.client(token, '2022-06-28').pages.create({
        parent: { database_id: SEED_DATABASE_IDS.projects },
        properties: { Name: { title: [{ text: { content: 'Legacy row' } }] } },
      });
      await sent();
      expect(await legacyReceiver.events()).toEqual([
        expect.objectContaining({
          type: 'page.created',
          api_version: '2022-06-28',
          data: { parent: { id: SEED_DATABASE_IDS.projects, type: 'database' } },
        }),
        expect.objectContaining({
          type: 'database.content_updated',
          entity: { id: SEED_DATABASE_IDS.projects, type: 'database' },
          data: { parent: { id: running.sandbox.workspaces()[0].id, type: 'space' }, updated_blocks: [{ id: row.id, type: 'page' }] },
        }),
      ]);
      await running.sandbox.webhooks.unsubscribe(id);
    } finally {
      await legacyReceiver.stop();
    }
  });
});

describe('a revoked connection', () => {
  it('drops out of accessible_by', async () => {
    await running.client().oauth.revoke({
      client_id: GATEHOUSE_CLIENT.clientId,
      client_secret: GATEHOUSE_CLIENT.clientSecret,
      token: benToken,
    });
    await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('After Ben left') });
    const [event] = await sent();
    expect(audience(event)).toEqual(sorted([...people(SEED_USER_IDS.ada), ...botsOf(bots.ada)]));
  });
});
