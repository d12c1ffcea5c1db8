/**
 * The ancestry cache is shared through Redis: two Gatehouse instances on one
 * PostgreSQL schema and one Redis prefix, a sandbox Notion on its own port,
 * and a connection whose pages are not indexed (so ancestors can only come
 * from Notion or the shared cache). What one instance learned about a page's
 * ancestors saves the other the lookups; a changed grant holds on the other
 * instance at the next call; a moved ancestor takes the pages below it out on
 * both within one cache lifetime.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS, seedPageId } from '../../src/sandbox/notion/index.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { DEFAULT_ANCESTRY_TTL_MS } from '../../src/proxy/scope.js';
import { startSandbox, type RunningSandbox } from '../sandbox-notion/harness.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectAdaToAcme, sharedUpstreamEnv } from '../support/shared-upstream.js';
import { connectPartner, failure, partnerClient, type PartnerSession } from './partner-session.js';

const READ = ['read_content', 'no_user_info'] as const;
const MIGRATION_GUIDELINES = seedPageId('Acme', 'Migration Guidelines');

describe('the ancestry cache across two instances (Redis)', () => {
  const clock = new ManualClock();
  let sandbox: RunningSandbox;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let partner: PartnerSession;
  /** The same partner token, calling the second instance. */
  let onSecond: ReturnType<typeof partnerClient>;

  const apiCalls = () => sandbox.sandbox.stats().apiCalls;

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: () => clock.now(), rateLimitPerSecond: Infinity, accessTokenLifetimeSeconds: 600 });
    const env = sharedUpstreamEnv(sandbox);
    const tunables = { upstreamRequestsPerSecond: 100_000, upstreamBurst: 100_000 };
    first = await startTestGatehouse({ database: 'postgres', redis: true, env, clock, tunables });
    second = await startTestGatehouse({
      database: 'postgres',
      redis: true,
      env,
      clock,
      tunables,
      schema: first.schema!,
      redisPrefix: first.redisPrefix!,
    });
    await connectAdaToAcme(first.gatehouse, sandbox, clock);
    partner = await connectPartner(first.gatehouse, first.url, { capabilities: [...READ], pageIds: [SEED_PAGE_IDS.engineering], clock });
    onSecond = partnerClient(second.url, partner.accessToken);
    expect(await first.gatehouse.stores.pageIndex.get(partner.connectionId, SEED_PAGE_IDS.entityGlossary)).toBeNull();
  });

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await sandbox?.stop();
  });

  it('ancestors one instance looked up in Notion save the other instance the lookups', async () => {
    // First instance: the page itself, then Data Model, Architecture and Engineering looked up in Notion.
    let before = apiCalls();
    expect((await partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary })).id).toBe(SEED_PAGE_IDS.entityGlossary);
    expect(apiCalls() - before).toBeGreaterThanOrEqual(4);

    // Second instance: only the page itself, and a sibling below the same cached parent.
    before = apiCalls();
    expect((await onSecond.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary })).id).toBe(SEED_PAGE_IDS.entityGlossary);
    expect(apiCalls() - before).toBe(1);
    before = apiCalls();
    expect((await onSecond.pages.retrieve({ page_id: MIGRATION_GUIDELINES })).id).toBe(MIGRATION_GUIDELINES);
    expect(apiCalls() - before).toBe(1);
  });

  it('a grant narrowed through one instance holds on the other at its next call', async () => {
    const { stores } = first.gatehouse;
    const grant = (await stores.grants.findById(partner.grantId))!;
    await stores.grants.upsert(
      {
        personId: grant.personId,
        appId: grant.appId,
        workspaceId: grant.workspaceId,
        upstreamConnectionId: grant.upstreamConnectionId,
        capabilities: grant.capabilities,
        pageIds: [SEED_PAGE_IDS.incidentResponse],
      },
      clock.now(),
    );
    expect(await failure(onSecond.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
    expect(await failure(partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
    // Back to Engineering for the next test.
    await stores.grants.upsert(
      {
        personId: grant.personId,
        appId: grant.appId,
        workspaceId: grant.workspaceId,
        upstreamConnectionId: grant.upstreamConnectionId,
        capabilities: grant.capabilities,
        pageIds: [SEED_PAGE_IDS.engineering],
      },
      clock.now(),
    );
    expect((await onSecond.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary })).id).toBe(SEED_PAGE_IDS.entityGlossary);
  });

  it('a call that meets an expired upstream token refreshes it once, and its later lookups use the new one', async () => {
    clock.advance(700_000); // the upstream token (600 s) and every cached chain have expired
    const refreshes = sandbox.sandbox.stats().tokenCalls.refresh_token;
    const before = apiCalls();
    const serviceMap = seedPageId('Acme', 'Service Map');
    expect((await onSecond.pages.retrieve({ page_id: serviceMap })).id).toBe(serviceMap);
    expect(sandbox.sandbox.stats().tokenCalls.refresh_token).toBe(refreshes + 1);
    // The read refused with the old token, the read again, then Architecture and Engineering looked up with the new token.
    expect(apiCalls() - before).toBe(4);
  });

  it('an ancestor moved out of the granted tree takes the pages below it out on both instances within one cache lifetime', async () => {
    // Ada moves it in Notion (with Gatehouse's current credential for her: the first one was refreshed above).
    const connection = (await first.gatehouse.stores.connections.findById(partner.connectionId))!;
    const adaToken = decryptCredential(first.gatehouse.keyring, connection.credentialCiphertext!, connection.id).accessToken;
    await partnerClient(sandbox.baseUrl, adaToken).pages.move({
      page_id: SEED_PAGE_IDS.dataModel,
      parent: { page_id: SEED_PAGE_IDS.product },
    });
    // The moved page itself is out at once, on either instance (Notion's fresh answer names its new parent).
    expect(await failure(onSecond.pages.retrieve({ page_id: SEED_PAGE_IDS.dataModel }))).toMatchObject({ status: 404 });
    expect(await failure(partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.dataModel }))).toMatchObject({ status: 404 });

    clock.advance(DEFAULT_ANCESTRY_TTL_MS + 1_000);
    for (const client of [partner.notion, onSecond]) {
      expect(await failure(client.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary }))).toMatchObject({
        status: 404,
        code: 'object_not_found',
      });
      expect(await failure(client.blocks.children.list({ block_id: MIGRATION_GUIDELINES }))).toMatchObject({ status: 404 });
    }
    // What stayed in the tree still works.
    expect((await onSecond.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture })).id).toBe(SEED_PAGE_IDS.architecture);
  });
});
