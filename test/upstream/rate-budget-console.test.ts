/**
 * Owners see who spends the workspace's Notion budget: on "Connections",
 * each partner's requests in the last hour and its part of them, Gatehouse's
 * own indexing included, by name.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner } from '../proxy/partner-session.js';

describe('"Connections" shows each partner\'s share of the Notion budget over the last hour', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, tunables: { upstreamRequestsPerSecond: 10_000, upstreamBurst: 10_000 } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it("a partner that read pages is listed with its requests and share, beside Gatehouse's own indexing", async () => {
    const partner = await connectPartner(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      name: 'Zapflow',
    });
    for (let i = 0; i < 3; i++) await partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.engineering });

    const ada = new Browser();
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    const page = await ada.request(`${t.url}/connections?workspace=${SEED_WORKSPACE_IDS.acme}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const section = html.slice(html.indexOf('Notion requests in the last hour'));
    expect(section.length).toBeGreaterThan(0);
    const rows = [
      ...section.slice(0, section.indexOf('</table>')).matchAll(/<tr><th scope="row">([^<]+)<\/th><td>(\d+)<\/td><td>(\d+)%<\/td><\/tr>/g),
    ];
    const byName = new Map(rows.map(([, name, requests, share]) => [name!, { requests: Number(requests), share: Number(share) }]));
    expect(byName.get('Zapflow')?.requests).toBeGreaterThanOrEqual(3);
    expect(byName.get('Gatehouse (page index and members)')?.requests).toBeGreaterThan(0);
    const total = [...byName.values()].reduce((sum, r) => sum + r.share, 0);
    expect(total).toBeGreaterThanOrEqual(98); // rounded parts of 100%
    expect(total).toBeLessThanOrEqual(102);
  });
});
