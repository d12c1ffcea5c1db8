/**
 * Notion's webhooks in, as Notion sends them: the verification POST, then
 * events signed with `signWebhookPayload` (the SDK's own signer). A bad
 * request of any kind stores nothing; a repeated event id stores nothing
 * twice; a confirmed token cannot be swapped by a second verification POST.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { signWebhookPayload } from '@notionhq/client';
import { sql } from 'kysely';
import { run } from '../support/processes.js';
import { purgeWebhookEvents } from '../../src/webhooks/intake.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';

const TOKEN = `secret_${randomUUID().replaceAll('-', '')}`;

function pageCreated(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    workspace_id: randomUUID(),
    workspace_name: 'Acme',
    subscription_id: randomUUID(),
    integration_id: randomUUID(),
    authors: [{ id: randomUUID(), type: 'person' }],
    accessible_by: [{ id: randomUUID(), type: 'person' }],
    attempt_number: 1,
    api_version: '2025-09-03',
    type: 'page.created',
    entity: { id: randomUUID(), type: 'page' },
    data: { parent: { id: randomUUID(), type: 'page' } },
    ...overrides,
  };
}

describe.each(['pglite', 'postgres'] as const)('the webhook intake on %s', (database) => {
  let t: TestGatehouse;
  const post = (body: string, headers: Record<string, string> = {}, path = '/webhooks/notion') =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const signed = async (event: object) => {
    const body = JSON.stringify(event);
    return post(body, { 'x-notion-signature': await signWebhookPayload({ body, verificationToken: TOKEN }) });
  };
  const storedEvents = async () =>
    Number((await sql<{ n: string }>`select count(*) as n from webhook_events`.execute(t.gatehouse.database.db)).rows[0]!.n);
  const adminGet = (path: string) => fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${t.gatehouse.adminToken}` } });

  beforeAll(async () => {
    t = await startTestGatehouse({ database });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('refuses an event before Notion sent a verification token', async () => {
    const response = await signed(pageCreated());
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe('no_token');
    expect(await storedEvents()).toBe(0);
  });

  it('keeps the verification token, encrypted, and shows it to organisation admins only', async () => {
    const response = await post(JSON.stringify({ verification_token: TOKEN }));
    expect(response.status).toBe(200);
    const row = await sql<{ c: string }>`select verification_token_ciphertext as c from notion_webhook_intakes where id = 'public'`.execute(
      t.gatehouse.database.db,
    );
    expect(row.rows[0]!.c).not.toContain(TOKEN);
    const shown = await adminGet('/api/admin/v1/webhooks/notion-token');
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({
      intake: 'public',
      verification_token: TOKEN,
      url: `${t.url}/webhooks/notion`,
      confirmed_at: null,
    });
    expect((await fetch(`${t.url}/api/admin/v1/webhooks/notion-token`)).status).toBe(401);
  });

  it('refuses unsigned, wrongly signed, malformed, oversized and wrong-content-type bodies, storing nothing', async () => {
    const body = JSON.stringify(pageCreated());
    const wrong = await signWebhookPayload({ body, verificationToken: 'not-the-token' });
    const cases: Array<[Promise<Response>, number]> = [
      [post(body), 401],
      [post(body, { 'x-notion-signature': wrong }), 401],
      [post(body, { 'x-notion-signature': 'sha256=zz' }), 401],
      [post('{"id": ', { 'x-notion-signature': wrong }), 400],
      [post('[1,2]'), 400],
      [post(JSON.stringify({ verification_token: 5 })), 401],
      [post(body, { 'content-type': 'text/plain' }), 415],
      [post(JSON.stringify({ ...pageCreated(), pad: 'x'.repeat(600 * 1024) })), 413],
    ];
    for (const [response, status] of cases) {
      const answer = await response;
      expect(answer.status).toBe(status);
      expect((await answer.json()).error).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    const notAnEvent = { hello: 'world', id: 'x' };
    expect((await signed(notAnEvent)).status).toBe(400);
    expect(await storedEvents()).toBe(0);
  });

  it('stores a signed event once; Notion retrying the same id answers 200 and stores nothing', async () => {
    const event = pageCreated();
    expect((await signed(event)).status).toBe(200);
    expect((await signed({ ...event, attempt_number: 2 })).status).toBe(200);
    expect(await storedEvents()).toBe(1);
    const [row] = (
      await sql<{ type: string; entity_id: string; body: { attempt_number: number } }>`select * from webhook_events`.execute(
        t.gatehouse.database.db,
      )
    ).rows;
    expect(row).toMatchObject({ type: 'page.created', entity_id: event.entity.id, body: { attempt_number: 1 } });
  });

  it('confirms the token with the first signed event, then refuses a second verification POST and keeps the token', async () => {
    expect((await (await adminGet('/api/admin/v1/webhooks/notion-token')).json()).confirmed_at).not.toBeNull();
    const swap = await post(JSON.stringify({ verification_token: 'attacker-token' }));
    expect(swap.status).toBe(409);
    expect((await (await adminGet('/api/admin/v1/webhooks/notion-token')).json()).verification_token).toBe(TOKEN);
    const audit = await sql<{
      action: string;
    }>`select action from audit_events where action like 'webhook_intake.%' order by occurred_at`.execute(t.gatehouse.database.db);
    expect(audit.rows.map((r) => r.action)).toEqual(['webhook_intake.token_received', 'webhook_intake.token_refused']);
  });

  it('gives an internal integration its own intake, and an unknown one a 404', async () => {
    expect((await post(JSON.stringify({ verification_token: 'x' }), {}, `/webhooks/notion/internal/${randomUUID()}`)).status).toBe(404);
    expect((await post(JSON.stringify({ verification_token: 'x' }), {}, '/webhooks/notion/internal/not-a-uuid')).status).toBe(404);
  });

  it('lets an organisation admin reset the intake, audited, so a new verification POST is taken', async () => {
    const reset = await fetch(`${t.url}/api/admin/v1/webhooks/notion-token/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.gatehouse.adminToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(reset.status).toBe(200);
    expect((await post(JSON.stringify({ verification_token: `${TOKEN}-2` }))).status).toBe(200);
    expect((await (await adminGet('/api/admin/v1/webhooks/notion-token')).json()).verification_token).toBe(`${TOKEN}-2`);
    const audit = await sql<{ n: string }>`select count(*) as n from audit_events where action = 'webhook_intake.reset'`.execute(
      t.gatehouse.database.db,
    );
    expect(Number(audit.rows[0]!.n)).toBe(1);
    // Put the first token back for the command-line step.
    await fetch(`${t.url}/api/admin/v1/webhooks/notion-token/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.gatehouse.adminToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await post(JSON.stringify({ verification_token: TOKEN }));
  });

  it('purges events older than the retention period, and only those', async () => {
    const tunables = { webhookEventRetentionDays: 30 };
    const now = Date.now();
    expect(await purgeWebhookEvents(t.gatehouse.stores.webhookEvents, { now: () => new Date(now + 29 * 86_400_000) }, tunables)).toBe(0);
    expect(await storedEvents()).toBe(1);
    expect(await purgeWebhookEvents(t.gatehouse.stores.webhookEvents, { now: () => new Date(now + 31 * 86_400_000) }, tunables)).toBe(1);
    expect(await storedEvents()).toBe(0);
  });

  it('prints the token with `gatehouse webhooks notion-token`', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'src/cli/gatehouse.ts', 'webhooks', 'notion-token'], {
      GATEHOUSE_URL: t.url,
      GATEHOUSE_ADMIN_TOKEN: t.gatehouse.adminToken,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ intake: 'public', verification_token: TOKEN });
  });
});
