/**
 * The "Webhooks" section of a partner app's page, as an organisation admin
 * uses it without JavaScript: plain forms with CSRF to add a subscription
 * (URL, event checkboxes), "Verify subscription" with the token the URL
 * received, "Resend verification", "Rotate signing secret" (the secret shown
 * once), "Delete". Others are refused; refusals change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { registerDashedApp, startReceiver, type Receiver } from './subscriptions-support.js';

describe("a partner app's page: the Webhooks section", () => {
  let t: TestGatehouse;
  let receiver: Receiver;
  let app: { clientId: string; clientSecret: string; id: string };
  let other: { clientId: string; clientSecret: string; id: string };
  const ada = new Browser();
  let csrf: string;

  const pageUrl = () => `${t.url}/admin/apps/${encodeURIComponent(app.clientId)}`;
  const open = async () => {
    const response = await ada.request(pageUrl(), { headers: { accept: 'text/html' } });
    const html = decodeHtml(await response.text());
    csrf = csrfTokenOf(html);
    return { status: response.status, html };
  };
  const submit = async (pathname: string, fields: Record<string, string | string[]> = {}) => {
    const response = await postForm(ada, `${pageUrl()}/webhooks${pathname}`, { _csrf: csrf, ...fields });
    const html = decodeHtml(await response.text());
    return { status: response.status, html };
  };
  const rows = () => t.gatehouse.database.db.selectFrom('webhook_subscriptions').selectAll().orderBy('created_at').execute();
  const rowOf = (html: string, id: string) => new RegExp(`<tr data-subscription-id="${id}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';

  beforeAll(async () => {
    t = await startTestGatehouse();
    receiver = await startReceiver();
    app = await registerDashedApp(t.gatehouse, 'Hookflow');
    other = await registerDashedApp(t.gatehouse, 'Other partner');
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
  });
  afterAll(async () => {
    await receiver.close();
    await t.stop();
  });

  it('is linked from the partner apps list and shows an empty Webhooks section with the form', async () => {
    const list = decodeHtml(await (await ada.request(`${t.url}/admin/apps`, { headers: { accept: 'text/html' } })).text());
    expect(list).toContain(`href="/admin/apps/${encodeURIComponent(app.clientId)}"`);
    const shown = await open();
    expect(shown.status).toBe(200);
    expect(shown.html).toContain('<h2 id="webhooks-heading">Webhooks</h2>');
    expect(shown.html).toContain('No webhook subscriptions yet.');
    expect(shown.html).toMatch(/<label for="webhook-url">Webhook URL/);
    expect(shown.html).toMatch(/id="event-page-created" name="events" value="page.created" checked/);
    expect(shown.html).toMatch(/id="event-view-created" name="events" value="view.created">/);
    expect(shown.html).toContain('Add subscription');
  });

  it('refuses others and bad input: 403 for a non-admin, 403 without CSRF, 404 for an unknown app, 400 for bad fields; nothing stored', async () => {
    const ben = new Browser();
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    expect((await ben.request(pageUrl(), { headers: { accept: 'text/html' } })).status).toBe(403);
    const benCsrf = csrfTokenOf(await (await ben.request(`${t.url}/workspaces`, { headers: { accept: 'text/html' } })).text());
    expect((await postForm(ben, `${pageUrl()}/webhooks`, { _csrf: benCsrf, url: receiver.url, events: 'page.created' })).status).toBe(403);
    await open();
    expect((await postForm(ada, `${pageUrl()}/webhooks`, { url: receiver.url, events: 'page.created' })).status).toBe(403);
    expect((await ada.request(`${t.url}/admin/apps/no-such-app`, { headers: { accept: 'text/html' } })).status).toBe(404);
    const unknownEvent = await submit('', { url: receiver.url, events: ['page.created', 'page.exploded'] });
    expect(unknownEvent.status).toBe(400);
    expect(unknownEvent.html).toContain('Unknown event type "page.exploded"');
    expect(unknownEvent.html).toContain(`value="${receiver.url}"`);
    const none = await submit('', { url: receiver.url });
    expect([none.status, none.html.includes('Choose at least one event type.')]).toEqual([400, true]);
    const privateUrl = await submit('', { url: 'https://10.1.2.3/hooks', events: 'page.created' });
    expect([privateUrl.status, privateUrl.html.includes('not public')]).toEqual([400, true]);
    expect((await submit('', { url: receiver.url, events: 'page.created', status: 'active' })).status).toBe(400);
    expect(await rows()).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  let id: string;
  let secret: string;

  it('adds a subscription: pending, the signing secret shown once, the token only at the URL', async () => {
    await open();
    const added = await submit('', { url: receiver.url, events: ['page.created', 'comment.created'] });
    expect(added.status).toBe(201);
    secret = /<code data-signing-secret>(whsec_[^<]+)<\/code>/.exec(added.html)![1]!;
    id = (await rows())[0]!.id;
    const row = rowOf(added.html, id);
    expect(row).toContain('data-status="pending"');
    expect(row).toContain('page.created, comment.created');
    expect(row).toContain(`href="/admin/webhooks/subscriptions/${id}"`);
    expect(row).toContain('Verify subscription');
    expect(added.html).toContain('A verification POST was sent to');
    expect(added.html).not.toContain(receiver.lastToken());
    const again = await open();
    expect(again.html).not.toContain(secret);
    expect(again.html).not.toContain(receiver.lastToken());
  });

  it('"Verify subscription" with a wrong token is refused and changes nothing; the right one activates it', async () => {
    const wrong = await submit(`/${id}/verify`, { verification_token: 'secret_wrong' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('The verification token does not match this subscription.');
    expect((await rows())[0]!.status).toBe('pending');
    // Another app's path cannot reach this subscription.
    const elsewhere = await postForm(ada, `${t.url}/admin/apps/${encodeURIComponent(other.clientId)}/webhooks/${id}/verify`, {
      _csrf: csrf,
      verification_token: receiver.lastToken(),
    });
    expect(elsewhere.status).toBe(404);
    const right = await submit(`/${id}/verify`, { verification_token: receiver.lastToken() });
    expect(right.status).toBe(200);
    expect(right.html).toContain('Subscription verified');
    expect(rowOf(right.html, id)).toContain('data-status="active"');
    expect(rowOf(right.html, id)).not.toContain('Verify subscription');
  });

  it('"Rotate signing secret" shows the new secret once and says until when the previous one signs', async () => {
    const rotated = await submit(`/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const next = /<code data-signing-secret>(whsec_[^<]+)<\/code>/.exec(rotated.html)![1]!;
    expect(next).not.toBe(secret);
    expect(rotated.html).toMatch(/The previous secret keeps signing until \d{4}-\d\d-\d\dT/);
    expect((await open()).html).not.toContain(next);
    expect((await submit(`/${id}/rotate-secret`, { extra: 'x' })).status).toBe(400);
  });

  it('shows why a verification POST failed, and "Resend verification" sends it again', async () => {
    receiver.status = 503;
    await open();
    const added = await submit('', { url: receiver.url, events: 'page.moved' });
    expect(added.status).toBe(201);
    expect(added.html).toContain('failed: The verification POST was answered with HTTP 503.');
    const failing = (await rows())[1]!.id;
    expect(rowOf(added.html, failing)).toContain('The verification POST failed: The verification POST was answered with HTTP 503.');
    receiver.status = 200;
    const resent = await submit(`/${failing}/resend-verification`);
    expect(resent.html).toContain('Verification sent again');
    expect(rowOf(resent.html, failing)).not.toContain('data-reason');
  });

  it('"Delete" removes the subscription', async () => {
    const deleted = await submit(`/${id}/delete`, { confirm: 'yes' });
    expect(deleted.status).toBe(200);
    expect(deleted.html).toContain('Subscription deleted');
    expect(rowOf(deleted.html, id)).toBe('');
    expect((await rows()).map((r) => r.id)).not.toContain(id);
    expect((await submit(`/${id}/delete`, { confirm: 'yes' })).status).toBe(404);
  });
});
