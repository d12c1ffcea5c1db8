/**
 * What an operator graphs, scraped from /metrics after real traffic: Notion's
 * latency and answers, 429s by reason, tokens issued, refreshed and revoked,
 * budget waits, page-index progress and errors, and the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}` : `${name} `) || l === name);
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('operator metrics after traffic', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let partner: PartnerSession;
  let text: string;

  beforeAll(async () => {
    // A budget of one call a second with no waiting: a burst of reads meets the budget's 429.
    t = await startTestGatehouse({
      clock,
      sandboxNotion: { rateLimitPerSecond: Infinity },
      tunables: { upstreamRequestsPerSecond: 1, upstreamBurst: 1, upstreamMaxWaitMs: 0 },
    });
    partner = await connectPartner(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
    const reads = await Promise.allSettled(
      Array.from({ length: 4 }, () => partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture })),
    );
    expect(reads.some((r) => r.status === 'rejected')).toBe(true);
    const oauth = new Client({ baseUrl: t.url, retry: false }).oauth;
    const client = { client_id: partner.registered.clientId, client_secret: partner.registered.clientSecret! };
    const refreshed = await oauth.token({ grant_type: 'refresh_token', refresh_token: partner.refreshToken, ...client });
    await oauth.revoke({ token: refreshed.access_token, ...client });
    await oauth.revoke({ token: refreshed.refresh_token!, ...client });
    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    text = await response.text();
  });
  afterAll(async () => t?.stop());

  it('has Notion latency and answers, and 429s by reason', () => {
    expect(sample(text, 'gatehouse_upstream_request_duration_seconds_count', 'status="2xx"')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_upstream_responses_total', 'status="2xx"')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_upstream_rate_limited_total', 'reason="budget"')).toBeGreaterThan(0);
    for (const reason of ['blocked', 'notion']) expect(sample(text, 'gatehouse_upstream_rate_limited_total', `reason="${reason}"`)).toBe(0);
  });

  it('has tokens issued, refreshed and revoked', () => {
    expect(sample(text, 'gatehouse_oauth_tokens_issued_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gatehouse_oauth_tokens_refreshed_total')).toBe(1);
    expect(sample(text, 'gatehouse_oauth_tokens_revoked_total', 'reason="revocation_endpoint"')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gatehouse_oauth_tokens_revoked_total', 'reason="refresh_reuse"')).toBe(0);
  });

  it('has budget decisions and waits', () => {
    expect(text).toContain('gatehouse_upstream_budget_granted_total{');
    expect(text).toContain('gatehouse_upstream_budget_refused_total{');
    expect(text).toMatch(/# TYPE gatehouse_upstream_budget_wait_seconds_total counter/);
    expect(text).toMatch(/# TYPE gatehouse_upstream_budget_waited_total counter/);
  });

  it('has page-index progress and errors', () => {
    expect(sample(text, 'gatehouse_page_index_objects_total')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_page_index_runs_total', 'outcome="ready"')).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_page_index_runs_total', 'outcome="failed"')).toBe(0);
    expect(sample(text, 'gatehouse_page_index_connections', 'state="ready"')).toBeGreaterThan(0);
  });

  it('has the build', () => {
    expect(text).toMatch(new RegExp(`^gatehouse_build_info\\{version="[^"]+",node="${process.version}"\\} 1$`, 'm'));
  });
});
