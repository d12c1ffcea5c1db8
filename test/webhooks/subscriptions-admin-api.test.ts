/**
 * Partner webhook subscriptions through the admin API, on PGlite: who may
 * call it, every bad input refused with nothing stored, the verification
 * POST (only `verification_token`, to the URL only), verification by an
 * admin and by the partner itself with openid-client's Basic credentials,
 * rotation with its overlap, resend, delete. The token must appear in no
 * answer and no audit row. Opened by the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { readSubscriptionSecrets } from '../../src/webhooks/secrets.js';
import { requireWebhookUrl, SubscriptionError } from '../../src/webhooks/subscriptions.js';
import { openidClientBasic, registerDashedApp, startReceiver, type Receiver } from './subscriptions-support.js';

const EVENTS = ['page.created', 'comment.created'];

interface SubscriptionJson {
  id: string;
  client_id: string;
  url: string;
  events: string[];
  status: string;
  created_at: string;
  signing_secret?: string;
}
/** Any answer of the admin API: a subscription, a list, a deletion or an error. */
type AdminAnswer = SubscriptionJson & { error: { code: string; message: string }; object: string; subscriptions: SubscriptionJson[] };

describe('partner webhook subscriptions: the admin API and the partner verify endpoint', () => {
  let t: TestGatehouse;
  let receiver: Receiver;
  let partner: { clientId: string; clientSecret: string; id: string };
  let other: { clientId: string; clientSecret: string; id: string };
  const answers: string[] = [];

  const api = async (pathname: string, init: { method?: string; body?: unknown; raw?: string; token?: string | null } = {}) => {
    const response = await fetch(`${t.url}/api/admin/v1/webhooks/subscriptions${pathname}`, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? t.gatehouse.adminToken}` }),
        ...(init.body !== undefined || init.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) as AdminAnswer };
  };
  const partnerVerify = async (id: string, body: Record<string, string>, authorization?: string) => {
    const response = await fetch(`${t.url}/v1/webhooks/subscriptions/${id}/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  const db = () => t.gatehouse.database.db;
  const rows = () => db().selectFrom('webhook_subscriptions').selectAll().orderBy('created_at').execute();
  const audit = () => db().selectFrom('audit_events').selectAll().where('action', 'like', 'webhook_subscription.%').orderBy('id').execute();
  const snapshot = async () => ({ rows: await rows(), audit: (await audit()).length, posts: receiver.received.length });
  const create = (extra: Record<string, unknown> = {}) =>
    api('', { body: { client_id: partner.clientId, url: receiver.url, events: EVENTS, ...extra } });

  beforeAll(async () => {
    t = await startTestGatehouse({ tunables: { clientAuthFailuresPerWindow: 3 } });
    receiver = await startReceiver();
    partner = await registerDashedApp(t.gatehouse, 'Hookflow');
    other = await registerDashedApp(t.gatehouse, 'Other partner');
  });
  afterAll(async () => {
    await receiver.close();
    await t.stop();
  });

  it('rejects unauthenticated callers: 401 on every route, nothing stored', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [pathname, method] of [
      ['', 'GET'],
      ['', 'POST'],
      [`/${id}`, 'GET'],
      [`/${id}`, 'DELETE'],
      [`/${id}/verify`, 'POST'],
      [`/${id}/rotate-secret`, 'POST'],
      [`/${id}/resend-verification`, 'POST'],
    ] as const) {
      const anonymous = await api(pathname, { method, token: null });
      expect([pathname, anonymous.status, anonymous.body.error.code]).toEqual([pathname, 401, 'unauthorized']);
      const forged = await api(pathname, { method, token: 'gh_admin_not-a-real-token' });
      expect(forged.status).toBe(401);
    }
    expect(await snapshot()).toEqual({ rows: [], audit: 0, posts: 0 });
  });

  it('refuses a signed-in person who is not an organisation admin: 403', async () => {
    const ben = new Browser();
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    const csrf = csrfTokenOf(await (await ben.request(`${t.url}/workspaces`, { headers: { accept: 'text/html' } })).text());
    const list = await ben.request(`${t.url}/api/admin/v1/webhooks/subscriptions`, { headers: { accept: 'application/json' } });
    expect(list.status).toBe(403);
    const post = await ben.request(`${t.url}/api/admin/v1/webhooks/subscriptions`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: csrf, client_id: partner.clientId, url: receiver.url, events: 'page.created' }),
      headers: { accept: 'application/json' },
    });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect(await snapshot()).toEqual({ rows: [], audit: 0, posts: 0 });
  });

  it('refuses bad URLs, unknown event types, unknown fields and unknown apps: 4xx in the admin shape, nothing stored, nothing sent', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ url: 'not a url' }, 400, /not an absolute URL|spaces/],
      [{ url: 'partner.example/hooks' }, 400, /not an absolute URL/],
      [{ url: 'http://partner.example/hooks' }, 400, /https/],
      [{ url: 'ftp://partner.example/hooks' }, 400, /https/],
      [{ url: 'https://10.0.0.7/hooks' }, 400, /not public/],
      [{ url: 'https://[::1]:8443/hooks' }, 400, /not public/],
      [{ url: 'https://localhost:8443/hooks' }, 400, /not public/],
      [{ url: 'https://user:pw@partner.example/hooks' }, 400, /user name/],
      [{ url: 'https://partner.example/hooks#frag' }, 400, /fragment/],
      [{ url: `https://partner.example/${'a'.repeat(2100)}` }, 400, /url/],
      [{ events: ['page.exploded'] }, 400, /Unknown event type "page\.exploded"/],
      [{ events: ['page.*'] }, 400, /Unknown event type/],
      [{ events: [] }, 400, /events/],
      [{ events: 'page.created' }, 400, /events/],
      [{ secret: 'mine' }, 400, /Unknown field "secret"/],
      [{ status: 'active' }, 400, /Unknown field "status"/],
      [{ client_id: 'no-such-app' }, 404, /no partner app/],
      [{ client_id: undefined }, 400, /client_id: is required/],
    ];
    for (const [extra, status, message] of cases) {
      const answer = await create(extra as Record<string, unknown>);
      expect([JSON.stringify(extra).slice(0, 80), answer.status]).toEqual([JSON.stringify(extra).slice(0, 80), status]);
      expect(Object.keys(answer.body)).toEqual(['error']);
      expect(answer.body.error.message).toMatch(message);
    }
    for (const raw of ['{"client_id":', '[]', '"text"']) expect((await api('', { raw })).status).toBe(400);
    expect(await snapshot()).toEqual({ rows: [], audit: 0, posts: 0 });
  });

  it('refuses http to loopback where the sandboxes do not run (production)', async () => {
    await expect(requireWebhookUrl({ allowLoopbackHttp: false }, receiver.url)).rejects.toThrow(SubscriptionError);
    await expect(requireWebhookUrl({ allowLoopbackHttp: false }, receiver.url)).rejects.toThrow('The webhook URL must use https.');
    await expect(requireWebhookUrl({ allowLoopbackHttp: true }, receiver.url)).resolves.toBe(receiver.url);
    const resolve = async () => ['192.168.1.10'];
    await expect(requireWebhookUrl({ allowLoopbackHttp: false, resolve }, 'https://intranet.example/h')).rejects.toThrow('not public');
    await expect(
      requireWebhookUrl({ allowLoopbackHttp: false, resolve: async () => ['93.184.215.14'] }, 'https://a.example/h'),
    ).resolves.toBe('https://a.example/h');
  });

  let first: SubscriptionJson;
  let firstToken: string;

  it('creates a pending subscription, shows the whsec_ secret once, and POSTs only the verification token to the URL', async () => {
    const answer = await create();
    expect(answer.status).toBe(201);
    first = answer.body;
    expect(Object.keys(first).sort()).toEqual(['client_id', 'created_at', 'events', 'id', 'signing_secret', 'status', 'url']);
    expect(first).toMatchObject({ client_id: partner.clientId, url: receiver.url, events: EVENTS, status: 'pending' });
    expect(first.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(receiver.received).toHaveLength(1);
    const post = receiver.received[0]!;
    expect(post.path).toBe('/hooks');
    expect(post.headers['content-type']).toBe('application/json');
    const body = JSON.parse(post.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['verification_token']);
    firstToken = receiver.lastToken();
    expect(firstToken).toMatch(/^secret_[A-Za-z0-9_-]{43}$/);
    const [row] = await rows();
    expect(row!.verification_token_ciphertext).not.toContain(firstToken);
    expect(row!.signing_secret_ciphertext).not.toContain(first.signing_secret!.slice(6));
    expect((await audit()).map((a) => [a.action, a.actor_type, a.outcome])).toEqual([
      ['webhook_subscription.created', 'admin_token', 'success'],
      ['webhook_subscription.verification_sent', 'admin_token', 'success'],
    ]);
    const shown = await api(`/${first.id}`);
    expect(shown.body).toEqual({ ...first, signing_secret: undefined, status: 'pending' });
    expect(shown.body.signing_secret).toBeUndefined();
  });

  it('refuses a wrong token: 400, still pending, one audit row without either token', async () => {
    const wrong = await api(`/${first.id}/verify`, { body: { verification_token: 'secret_not-it' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('invalid_request');
    expect((await api(`/${first.id}`)).body.status).toBe('pending');
    const bad = [
      await api(`/${first.id}/verify`, { body: {} }),
      await api(`/${first.id}/verify`, { body: { verification_token: firstToken, extra: 1 } }),
      await api(`/${first.id}/verify`, { body: { verification_token: 7 } }),
    ];
    expect(bad.map((b) => b.status)).toEqual([400, 400, 400]);
    expect((await api('/not-a-uuid/verify', { body: { verification_token: firstToken } })).status).toBe(404);
    const failed = (await audit()).filter((a) => a.action === 'webhook_subscription.verification_failed');
    expect(failed).toHaveLength(1);
  });

  it('activates on the right token entered by an admin; verifying again changes nothing', async () => {
    const right = await api(`/${first.id}/verify`, { body: { verification_token: firstToken } });
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ id: first.id, status: 'active' });
    expect(right.body.signing_secret).toBeUndefined();
    expect((await api(`/${first.id}/verify`, { body: { verification_token: firstToken } })).body.status).toBe('active');
    expect((await audit()).filter((a) => a.action === 'webhook_subscription.verified')).toHaveLength(1);
    expect((await api(`/${first.id}/resend-verification`, { method: 'POST' })).status).toBe(409);
  });

  it('two verifications racing end in one active subscription and one audit row', async () => {
    const racing = (await create({ events: ['page.unlocked'] })).body;
    const token = receiver.lastToken();
    const both = await Promise.all([0, 1].map(() => api(`/${racing.id}/verify`, { body: { verification_token: token } })));
    expect(both.map((b) => [b.status, b.body.status])).toEqual([
      [200, 'active'],
      [200, 'active'],
    ]);
    expect((await audit()).filter((a) => a.action === 'webhook_subscription.verified' && a.target_id === racing.id)).toHaveLength(1);
  });

  it('lets the partner verify its own subscription with openid-client Basic credentials, and no other app', async () => {
    const second = (await create({ events: ['page.moved'] })).body;
    const token = receiver.lastToken();
    expect(token).not.toBe(firstToken);
    const basic = openidClientBasic(partner.clientId, partner.clientSecret);
    expect(basic).toMatch(/^Basic /);
    expect(Buffer.from(basic.slice(6), 'base64').toString()).toContain('%2D');
    // Another partner with the right token, a wrong secret, no credentials: refused, still pending.
    expect(
      (await partnerVerify(second.id, { verification_token: token }, openidClientBasic(other.clientId, other.clientSecret))).status,
    ).toBe(404);
    const wrongSecret = await partnerVerify(second.id, { verification_token: token }, openidClientBasic(partner.clientId, 'nope'));
    expect([wrongSecret.status, wrongSecret.body.error]).toEqual([401, 'invalid_client']);
    expect((await partnerVerify(second.id, { verification_token: token })).status).toBe(401);
    expect((await partnerVerify(second.id, { verification_token: 'secret_wrong' }, basic)).body).toMatchObject({
      error: 'invalid_request',
      status: 400,
    });
    expect((await partnerVerify(second.id, { verification_token: token, extra: 'x' }, basic)).status).toBe(400);
    expect((await api(`/${second.id}`)).body.status).toBe('pending');
    const ok = await partnerVerify(second.id, { verification_token: token }, basic);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: second.id, client_id: partner.clientId, status: 'active' });
    const verified = (await audit()).filter((a) => a.action === 'webhook_subscription.verified' && a.target_id === second.id);
    expect(verified.map((a) => [a.actor_type, a.actor_label])).toEqual([['partner', partner.clientId]]);
    // client_secret_post in a form body works as at the token endpoint.
    const third = (await create({ events: ['comment.deleted'] })).body;
    const form = await fetch(`${t.url}/v1/webhooks/subscriptions/${third.id}/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: partner.clientId,
        client_secret: partner.clientSecret,
        verification_token: receiver.lastToken(),
      }),
    });
    expect(form.status).toBe(200);
  });

  it('rate-limits wrong tokens like client authentication failures: 429, then even the right token waits', async () => {
    const fourth = (await create({ events: ['view.created'] })).body;
    const token = receiver.lastToken();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await api(`/${fourth.id}/verify`, { body: { verification_token: `secret_guess${i}` } })).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    const blocked = await api(`/${fourth.id}/verify`, { body: { verification_token: token } });
    expect([blocked.status, blocked.body.error.code]).toEqual([429, 'rate_limited']);
    expect((await api(`/${fourth.id}`)).body.status).toBe('pending');
  });

  it('rotates the signing secret: shown once, and both secrets sign during the overlap only', async () => {
    const before = await readSubscriptionSecrets(
      { store: t.gatehouse.stores.webhookSubscriptions, keyring: t.gatehouse.keyring },
      first.id,
      new Date(),
    );
    expect(before!.signingSecrets).toEqual([first.signing_secret]);
    const rotated = await api(`/${first.id}/rotate-secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ id: first.id, status: 'active' });
    expect(rotated.body.signing_secret).toMatch(/^whsec_/);
    expect(rotated.body.signing_secret).not.toBe(first.signing_secret);
    expect((await api(`/${first.id}`)).body.signing_secret).toBeUndefined();
    const deps = { store: t.gatehouse.stores.webhookSubscriptions, keyring: t.gatehouse.keyring };
    const during = await readSubscriptionSecrets(deps, first.id, new Date(Date.now() + 23 * 3600_000));
    expect(during!.signingSecrets).toEqual([rotated.body.signing_secret, first.signing_secret]);
    expect(during!.verificationToken).toBe(firstToken);
    // Signed with both, as a delivery during the overlap is: a partner on either secret verifies it.
    const payload = JSON.stringify({ type: 'page.created' });
    const id = 'msg_1';
    const at = new Date();
    const signature = during!.signingSecrets.map((s) => new Webhook(s).sign(id, at, payload)).join(' ');
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
    for (const secret of [first.signing_secret, rotated.body.signing_secret])
      expect(new Webhook(secret!).verify(payload, headers)).toEqual({ type: 'page.created' });
    const after = await readSubscriptionSecrets(deps, first.id, new Date(Date.now() + 25 * 3600_000));
    expect(after!.signingSecrets).toEqual([rotated.body.signing_secret]);
    expect((await api(`/${first.id}/rotate-secret`, { body: { now: true } })).status).toBe(400);
    expect((await api('/00000000-0000-4000-8000-000000000000/rotate-secret', { method: 'POST' })).status).toBe(404);
  });

  it('keeps a subscription pending with the reason when its URL fails, and resends the same token', async () => {
    receiver.status = 500;
    const failing = await create({ events: ['page.deleted'] });
    expect([failing.status, failing.body.status]).toEqual([201, 'pending']);
    const token = receiver.lastToken();
    const [row] = (await rows()).filter((r) => r.id === failing.body.id);
    expect(row!.disabled_reason).toBe('The verification POST was answered with HTTP 500.');
    const again = await api(`/${failing.body.id}/resend-verification`, { method: 'POST' });
    expect([again.status, again.body.error.code]).toEqual([502, 'unavailable']);
    expect(again.body.error.message).toMatch(/HTTP 500.*stays pending/);
    receiver.status = 200;
    const sent = await api(`/${failing.body.id}/resend-verification`, { method: 'POST' });
    expect([sent.status, sent.body.status]).toEqual([200, 'pending']);
    expect(receiver.lastToken()).toBe(token);
    expect((await rows()).find((r) => r.id === failing.body.id)!.disabled_reason).toBeNull();
  });

  it("lists all or one app's subscriptions, never with a secret; refuses unknown apps and parameters", async () => {
    const all = await api('');
    expect(all.body.object).toBe('list');
    expect(all.body.subscriptions.length).toBe((await rows()).length);
    for (const s of all.body.subscriptions) expect(s.signing_secret).toBeUndefined();
    expect((await api(`?client_id=${encodeURIComponent(partner.clientId)}`)).body.subscriptions.length).toBe(all.body.subscriptions.length);
    expect((await api(`?client_id=${encodeURIComponent(other.clientId)}`)).body.subscriptions).toEqual([]);
    expect((await api('?client_id=nobody')).status).toBe(404);
    expect((await api('?status=active')).status).toBe(400);
  });

  it('deletes a subscription, audited; a second delete is 404', async () => {
    const gone = await api(`/${first.id}`, { method: 'DELETE' });
    expect(gone.body).toEqual({ id: first.id, deleted: true });
    expect((await api(`/${first.id}`)).status).toBe(404);
    expect((await api(`/${first.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await audit()).filter((a) => a.action === 'webhook_subscription.deleted').map((a) => a.target_id)).toEqual([first.id]);
  });

  it('shows no verification token in any answer, audit row or OpenAPI document', async () => {
    const tokens = receiver.received.map((r) => (JSON.parse(r.body) as { verification_token: string }).verification_token);
    const auditText = JSON.stringify(await db().selectFrom('audit_events').selectAll().execute());
    for (const token of tokens) {
      for (const answer of answers) expect(answer).not.toContain(token);
      expect(auditText).not.toContain(token);
    }
    const openapi = (await (await fetch(`${t.url}/api/admin/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(openapi.paths['/webhooks/subscriptions']!).sort()).toEqual(['get', 'post']);
    for (const p of ['/verify', '/rotate-secret', '/resend-verification'])
      expect(openapi.paths[`/webhooks/subscriptions/{subscription_id}${p}`]).toHaveProperty('post');
    expect(openapi.paths['/webhooks/subscriptions/{subscription_id}']).toHaveProperty('delete');
  });
});
