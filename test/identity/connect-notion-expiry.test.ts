/** Connecting a Notion account: an attempt left too long expires (injected clock). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectNotion, passNotion, startConnect } from '../support/notion-connect.js';
import { ManualClock } from '../../src/clock.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const ARCHIVE = SEED_WORKSPACE_IDS.archive;

describe('connecting Notion accounts: an attempt expires', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  const ada = new Browser();

  beforeAll(async () => {
    // A frozen clock never refills the sandbox's rate-limit bucket: no limit here.
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    await signIn(ada, t.url, ADA.email, ADA.password);
    await t.gatehouse.indexer.idle();
    await t.gatehouse.membership.idle();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('a callback more than 10 minutes after "Connect a workspace" is refused; the code is not redeemed, nothing stored', async () => {
    const toNotion = await startConnect(ada, t.url);
    clock.advance(10 * 60_000 + 1000);
    const callbackUrl = await passNotion(ada, t.url, toNotion, { ...ADA, workspaceName: 'Archive' });
    const response = await ada.request(callbackUrl, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('This connection attempt expired. Start again from &quot;Your workspaces&quot;.');
    expect(t.gatehouse.sandboxNotion!.stats().tokenCalls.authorization_code).toBe(0);
    expect(await t.gatehouse.stores.workspaces.findById(ARCHIVE)).toBeNull();
    expect(await t.gatehouse.stores.audit.list({ action: 'upstream_connection.created', workspaceId: ARCHIVE })).toEqual([]);
  });

  it('started again, the same steps within the 10 minutes connect Archive', async () => {
    const { status, html } = await connectNotion(ada, t.url, { ...ADA, workspaceName: 'Archive' });
    expect(status).toBe(200);
    expect(html).toContain('Workspace connected. Its pages are being indexed.');
    expect(await t.gatehouse.stores.workspaces.findById(ARCHIVE)).toMatchObject({ name: 'Archive' });
  });
});
