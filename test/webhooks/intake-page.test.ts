/**
 * The "Webhooks" page, as an organisation admin uses it without JavaScript:
 * each intake from Notion with its URL, the token Notion sent and its state,
 * and a "Reset" button per intake. Others are refused; refusals (a stranger,
 * a repeated field, an unknown integration) reset nothing and audit nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';

const TOKEN = `secret_${randomUUID().replaceAll('-', '')}`;

describe('the Webhooks page', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  let csrf: string;

  const open = async (browser = ada) => {
    const response = await browser.request(`${t.url}/admin/webhooks`, { headers: { accept: 'text/html' } });
    const html = decodeHtml(await response.text());
    if (response.status === 200) csrf = csrfTokenOf(html);
    return { status: response.status, html };
  };
  const reset = async (fields: Record<string, string | string[]>, browser = ada, token = csrf) => {
    const response = await postForm(browser, `${t.url}/admin/webhooks/reset`, { _csrf: token, ...fields });
    return { status: response.status, html: decodeHtml(await response.text()) };
  };
  const resets = async () =>
    (await t.gatehouse.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'webhook_intake.reset').execute()).map(
      (a) => [a.actor_type, a.outcome],
    );
  const publicRow = (html: string) =>
    /<tr data-intake-id="[^"]*">\s*<th scope="row">Gatehouse \(public integration\)[\s\S]*?<\/tr>/.exec(html)?.[0] ?? '';

  beforeAll(async () => {
    t = await startTestGatehouse();
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    const verification = await fetch(`${t.url}/webhooks/notion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ verification_token: TOKEN }),
    });
    expect(verification.status).toBe(200);
  });
  afterAll(async () => t.stop());

  it('shows an organisation admin each intake, its URL and the token Notion sent', async () => {
    const shown = await open();
    expect(shown.status).toBe(200);
    expect(shown.html).toContain('<h1>Webhooks</h1>');
    const row = publicRow(shown.html);
    expect(row).toContain(`<code>${t.url}/webhooks/notion</code>`);
    expect(row).toContain(`value="${TOKEN}"`);
    expect(row).toContain('received, not confirmed yet');
    expect(row).toContain('aria-label="Reset the intake of Gatehouse (public integration)">Reset</button>');
  });

  it('refuses a signed-out visitor (to sign-in) and a person who is not an organisation admin (403); nothing reset', async () => {
    const stranger = await fetch(`${t.url}/admin/webhooks`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(stranger.status).toBe(303);
    const ben = new Browser();
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    const refused = await open(ben);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('Only organisation admins see webhook settings.');
    const benCsrf = csrfTokenOf(await (await ben.request(`${t.url}/workspaces`, { headers: { accept: 'text/html' } })).text());
    const post = await reset({ integration_id: '' }, ben, benCsrf);
    expect(post.status).toBe(403);
    expect(post.html).toContain('Only organisation admins see webhook settings.');
    expect(await resets()).toEqual([]);
    expect(publicRow((await open()).html)).toContain(`value="${TOKEN}"`);
  });

  it('refuses a repeated integration_id (400) and an unknown integration (404), resetting nothing', async () => {
    await open();
    expect((await reset({ integration_id: ['', ''] })).status).toBe(400);
    const unknown = await reset({ integration_id: randomUUID() });
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('There is no internal integration with that id.');
    expect(await resets()).toEqual([]);
    expect(publicRow((await open()).html)).toContain(`value="${TOKEN}"`);
  });

  it('resets the public intake with its "Reset" button, audited, so the next verification POST is kept', async () => {
    await open();
    const done = await reset({ integration_id: '' });
    expect(done.status).toBe(200);
    expect(done.html).toContain('The intake was reset: the next verification request from Notion will be kept.');
    const row = publicRow(done.html);
    expect(row).toContain('None yet');
    expect(row).toContain('waiting for Notion');
    expect(await resets()).toEqual([['person', 'success']]);
  });
});
