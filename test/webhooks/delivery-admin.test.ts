/**
 * An organisation admin sees a subscription's deliveries and acts on them:
 * in the admin API (every bad input a 4xx in the admin error shape), on the
 * command line, and on the page `/admin/webhooks/subscriptions/<id>` with
 * "Retry now" and "Replay" forms that work without JavaScript.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { runCli } from '../../src/cli/gatehouse.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';
import { pageParent, storeEvent, subscribe, type Receiver } from './support.js';

/** An admin API answer, loosely typed: tests read the fields they check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes; each test asserts what it reads
type Answer = any;

describe('deliveries seen and controlled by organisation admins', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let partner: PartnerSession;
  let subscriptionId: string;
  let receiver: Receiver;
  let ada: string;
  let api: (path: string, init?: { method?: string; body?: unknown; token?: string | null }) => Promise<{ status: number; body: Answer }>;

  const event = () =>
    storeEvent(
      t.gatehouse,
      {
        type: 'page.content_updated',
        workspaceId: SEED_WORKSPACE_IDS.acme,
        entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
        data: { ...pageParent(SEED_PAGE_IDS.engineering), updated_blocks: [] },
        accessibleBy: [ada],
      },
      clock.now(),
    );

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, tunables: { webhookRetryScheduleSeconds: [0], webhookRetryJitter: 0 } });
    partner = await connectPartner(t.gatehouse, t.url, { capabilities: ['read_content'], pageIds: [SEED_PAGE_IDS.engineering], clock });
    ada = (await t.gatehouse.stores.connections.findById(partner.connectionId))!.notionUserId;
    ({ id: subscriptionId, receiver } = await subscribe(t.gatehouse, {
      appId: partner.registered.app.id,
      events: ['page.content_updated'],
    }));
    api = async (path, init = {}) => {
      const response = await fetch(`${t.url}/api/admin/v1${path}`, {
        method: init.method ?? 'GET',
        headers: {
          ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? t.gatehouse.adminToken}` }),
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      });
      return { status: response.status, body: await response.json() };
    };
    receiver.answers = [500];
    await event(); // fails: its only attempt
    await event(); // delivered
    await t.gatehouse.webhooks.runDue();
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.stop();
  });

  it('rejects unauthenticated callers: 401 in the admin error shape', async () => {
    const answer = await api(`/webhooks/subscriptions/${subscriptionId}/deliveries`, { token: null });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('unauthorized');
  });

  it('lists recent deliveries: event type, entity, status, attempts, last response', async () => {
    const { status, body } = await api(`/webhooks/subscriptions/${subscriptionId}/deliveries`);
    expect(status).toBe(200);
    expect(body.deliveries).toHaveLength(2);
    const statuses = body.deliveries.map((d: { status: string }) => d.status).sort();
    expect(statuses).toEqual(['delivered', 'failed']);
    const failed = body.deliveries.find((d: { status: string }) => d.status === 'failed');
    expect(failed).toMatchObject({
      event_type: 'page.content_updated',
      entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
      attempts: 1,
      last_status_code: 500,
      last_response_excerpt: 'answer 500',
      origin: 'live',
    });
  });

  it('refuses bad input with a clear 4xx, never a 500', async () => {
    const cases: Array<[string, { method?: string; body?: unknown }, number]> = [
      [`/webhooks/subscriptions/${subscriptionId}/deliveries?limit=0`, {}, 400],
      [`/webhooks/subscriptions/${subscriptionId}/deliveries?limit=abc`, {}, 400],
      [`/webhooks/subscriptions/${subscriptionId}/deliveries?color=red`, {}, 400],
      ['/webhooks/subscriptions/not-a-uuid/deliveries', {}, 404],
      ['/webhooks/subscriptions/00000000-0000-4000-8000-000000000000/deliveries', {}, 404],
      [`/webhooks/subscriptions/${subscriptionId}/replay`, { method: 'POST', body: {} }, 400],
      [`/webhooks/subscriptions/${subscriptionId}/replay`, { method: 'POST', body: { since: 'yesterday' } }, 400],
      [`/webhooks/subscriptions/${subscriptionId}/replay`, { method: 'POST', body: { since: '2020-01-01T00:00:00Z' } }, 400],
      [`/webhooks/subscriptions/${subscriptionId}/replay`, { method: 'POST', body: { since: clock.now().toISOString(), extra: 1 } }, 400],
      [`/webhooks/subscriptions/${subscriptionId}/replay`, { method: 'POST', body: '{"since":' }, 400],
      [`/webhooks/subscriptions/${subscriptionId}/replay`, { method: 'POST', body: [1] }, 400],
      ['/webhooks/deliveries/not-a-uuid/retry', { method: 'POST' }, 404],
      ['/webhooks/deliveries/00000000-0000-4000-8000-000000000000/retry', { method: 'POST', body: { x: 1 } }, 400],
    ];
    for (const [path, init, expected] of cases) {
      const answer = await api(path, init);
      expect([path, answer.status]).toEqual([path, expected]);
      expect(typeof answer.body.error.message).toBe('string');
    }
    const { body } = await api(`/webhooks/subscriptions/${subscriptionId}/deliveries`);
    const delivered = body.deliveries.find((d: { status: string }) => d.status === 'delivered');
    const conflict = await api(`/webhooks/deliveries/${delivered.id}/retry`, { method: 'POST' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('conflict');
  });

  it('"Retry now" through the API: due at once, then delivered with the same webhook-id', async () => {
    const { body } = await api(`/webhooks/subscriptions/${subscriptionId}/deliveries`);
    const failed = body.deliveries.find((d: { status: string }) => d.status === 'failed');
    const retried = await api(`/webhooks/deliveries/${failed.id}/retry`, { method: 'POST' });
    expect(retried).toMatchObject({ status: 202, body: { id: failed.id, status: 'pending' } });
    await t.gatehouse.webhooks.runDue();
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(failed.id);
    expect(receiver.received.at(-1)!.json.attempt_number).toBe(2);
  });

  it('the command line: `webhooks deliveries` and `webhooks replay --since`', async () => {
    const env = { GATEHOUSE_URL: t.url, GATEHOUSE_ADMIN_TOKEN: t.gatehouse.adminToken };
    const listed = (await runCli(['webhooks', 'deliveries', subscriptionId], env)) as { deliveries: unknown[] };
    expect(listed.deliveries).toHaveLength(2);
    const since = new Date(clock.now().getTime() - 60_000).toISOString();
    const replay = (await runCli(['webhooks', 'replay', subscriptionId, '--since', since], env)) as { events: number; replay_id: string };
    expect(replay.events).toBe(2);
    const before = receiver.received.length;
    await t.gatehouse.webhooks.runDue();
    expect(receiver.received.length).toBe(before + 2);
    const replayed = receiver.received.slice(-2);
    expect(replayed.every((r) => r.notionValid && r.standardValid[0])).toBe(true);
    const audit = await t.gatehouse.stores.auditQuery.search({ scope: null, action: 'webhook_subscription.replayed', limit: 5 });
    expect(audit[0]).toMatchObject({ target: { type: 'webhook_subscription', id: subscriptionId }, detail: { events: 2 } });
    await expect(runCli(['webhooks', 'replay', subscriptionId], env)).rejects.toMatchObject({ code: 'missing_flag' });
  });

  it('the page: deliveries, "Retry now" for a failed one, and "Replay", as forms with CSRF', async () => {
    receiver.answers = [500];
    await event();
    await t.gatehouse.webhooks.runDue();
    const browser = new Browser();
    await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    const pageUrl = `${t.url}/admin/webhooks/subscriptions/${subscriptionId}`;
    const page = await browser.request(pageUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Retry now');
    expect(html).toContain('Replay');
    expect(html).toContain(receiver.url);
    const failedId = /action="\/admin\/webhooks\/deliveries\/([0-9a-f-]+)\/retry"/.exec(html)![1]!;
    const csrf = csrfTokenOf(html);
    const form = (values: Record<string, string>) => ({
      method: 'POST',
      body: new URLSearchParams(values),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
    const noCsrf = await browser.request(`${t.url}/admin/webhooks/deliveries/${failedId}/retry`, form({}));
    expect(noCsrf.status).toBe(403);
    const retried = await browser.request(`${t.url}/admin/webhooks/deliveries/${failedId}/retry`, form({ _csrf: csrf }));
    expect(retried.status).toBe(303);
    expect(retried.headers.get('location')).toBe(`/admin/webhooks/subscriptions/${subscriptionId}?notice=retried`);
    expect((await t.gatehouse.stores.webhookDeliveries.findById(failedId))!.status).toBe('pending');
    const badWindow = await browser.request(`${pageUrl}/replay`, form({ _csrf: csrf, since: 'last week' }));
    expect(badWindow.status).toBe(400);
    expect(await badWindow.text()).toContain('ISO 8601');
    const replayed = await browser.request(
      `${pageUrl}/replay`,
      form({ _csrf: csrf, since: new Date(clock.now().getTime() - 1000).toISOString() }),
    );
    expect(replayed.status).toBe(303);
    // Ben is no organisation admin: refused.
    const ben = new Browser();
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    expect((await ben.request(pageUrl, { headers: { accept: 'text/html' } })).status).toBe(403);
  });

  it('Prometheus metrics: events in, attempts by outcome, queue depth, delivery latency', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/gatehouse_webhook_events_total\{type="page.content_updated"\} [1-9]/);
    expect(text).toMatch(/gatehouse_webhook_delivery_attempts_total\{outcome="delivered"\} [1-9]/);
    expect(text).toMatch(/gatehouse_webhook_delivery_attempts_total\{outcome="failed"\} [1-9]/);
    expect(text).toMatch(/gatehouse_webhook_queue_depth\{queue="deliveries"\} \d/);
    expect(text).toMatch(/gatehouse_webhook_delivery_latency_seconds_count [1-9]/);
  });

  it('a replay of a subscription that is not active is refused (409)', async () => {
    await t.gatehouse.stores.webhookSubscriptions.setStatus(subscriptionId, ['active'], 'disabled', clock.now(), {
      disabledReason: 'test',
    });
    const answer = await api(`/webhooks/subscriptions/${subscriptionId}/replay`, {
      method: 'POST',
      body: { since: clock.now().toISOString() },
    });
    expect(answer.status).toBe(409);
    await t.gatehouse.stores.webhookSubscriptions.setStatus(subscriptionId, ['disabled'], 'active', clock.now());
  });

  it('the OpenAPI document lists the delivery operations', async () => {
    const response = await fetch(`${t.url}/api/admin/v1/openapi.json`);
    const doc = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/webhooks/subscriptions/{id}/deliveries',
        '/webhooks/subscriptions/{id}/replay',
        '/webhooks/deliveries/{id}/retry',
      ]),
    );
  });
});
