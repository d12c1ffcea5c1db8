/**
 * Faults in production, with real processes: this file starts its own
 * PostgreSQL cluster and its own Redis (append-only file, fsynced on every
 * write), two Gatehouse instances on them, and keeps steady partner traffic
 * running (proxied reads, refreshes, introspection, a revoked token knocking)
 * while it kills and restarts Redis, restarts PostgreSQL and SIGKILLs one
 * instance. A person's consent begun on the killed instance is finished on
 * the other.
 *
 * What must hold throughout: no 5xx other than 503, every 503 with
 * Retry-After; traffic back within a few seconds of each service, with no
 * Gatehouse restart; the revoked token never accepted; every grant, code and
 * token issued before the faults still works after them; the session and the
 * consent in progress survive the Redis restart. The figures (answers by
 * status per phase, recovery times) are printed for the operator's notes.
 *
 * The shared PostgreSQL and Redis of the other test files are never touched:
 * the deployment harness reads TEST_DATABASE_URL and TEST_REDIS_URL when it
 * is first imported, so it is imported after this file's servers exist.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { hashToken } from '../../src/crypto/tokens.js';
import { startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from '../support/own-services.js';
import { SteadyTraffic, type Answer, type Target } from '../support/steady-traffic.js';
import type { Deployment, Instance } from '../support/instances.js';
import type { RegisteredApp } from '../support/partner.js';
import type { Browser } from '../support/browser.js';
import { eventually, sleep } from '../support/eventually.js';

const REDIRECT = 'https://partner.example/callback';
/** "A few seconds": the bound on recovery after a service is back. */
const RECOVERY_BOUND_MS = 5_000;
/** Proxied calls sent to A at once just before it is killed: more than Notion's budget lets through at once. */
const BURST = 8;
const OPS = ['proxy.users.me', 'proxy.search', 'introspect', 'refresh'];

interface Pair {
  access_token: string;
  refresh_token: string;
  bot_id: string;
}

const until = (check: () => Promise<boolean>, timeoutMs = 20_000) => eventually(check, { timeoutMs });

function hidden(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`, 'g'))].map((m) =>
    m[1]!.replace(/&amp;/g, '&'),
  );
}

describe('steady traffic through Redis, PostgreSQL and instance failures', () => {
  let pg: OwnPostgres;
  let redis: OwnRedis;
  let d: Deployment;
  let a: Instance;
  let b: Instance;
  let partner: RegisteredApp;
  let traffic: SteadyTraffic;
  let pair: Pair;
  let revoked: Pair;
  let saved: Pair;
  let laterCodes: string[];
  let grantIds: string[];
  const ada = { browser: undefined as unknown as Browser, consentPath: '', form: new URLSearchParams() };
  const figures: Record<string, unknown> = {};
  const savedEnv = { db: process.env.TEST_DATABASE_URL, redis: process.env.TEST_REDIS_URL };

  const post = (base: string, path: string, body: Record<string, string>) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(partner.clientId)}:${encodeURIComponent(partner.clientSecret!)}`).toString('base64')}`,
      },
      body: new URLSearchParams(body),
      signal: AbortSignal.timeout(15_000),
    });
  const redeem = (base: string, code: string) =>
    post(base, '/v1/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  const proxied = (base: string, path: string, token: string, body?: object) =>
    fetch(`${base}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, 'notion-version': '2022-06-28', 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  const active = async (base: string, token: string) => (await (await post(base, '/v1/oauth/introspect', { token })).json()).active;
  const ready = async (instance: Instance) =>
    (await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(3_000) })).status === 200;

  beforeAll(async () => {
    pg = await startOwnPostgres();
    redis = await startOwnRedis({ appendOnly: true });
    process.env.TEST_DATABASE_URL = pg.url;
    process.env.TEST_REDIS_URL = redis.url;
    const { startDeployment } = await import('../support/instances.js');
    const { issueCode, registerApp } = await import('../support/partner.js');
    const { Browser, signIn } = await import('../support/browser.js');

    d = await startDeployment();
    const { stores, indexer } = d.seed.gatehouse;
    const [person] = await stores.people.findByEmail('ada@example.com');
    const [connection] = await stores.connections.listForPerson(person!.id);
    indexer.request(connection!.id);
    await indexer.idle();
    partner = await registerApp(d.seed.gatehouse, { redirectUris: [REDIRECT] });
    a = await d.start('a');
    b = await d.start('b');

    const newCode = () => issueCode(d.seed.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme' });
    const issued = await Promise.all(Array.from({ length: 6 }, () => newCode()));
    grantIds = [...new Set(issued.map((c) => c.grantId))];
    const pairs = await Promise.all(
      issued.slice(0, 3).map(async (c, i) => (await (await redeem(i % 2 ? b.url : a.url, c.code)).json()) as Pair),
    );
    [pair, revoked, saved] = pairs as [Pair, Pair, Pair];
    // Codes issued before the faults and redeemed only after them: none may be lost.
    laterCodes = issued.slice(3).map((c) => c.code);
    expect((await post(b.url, '/v1/oauth/revoke', { token: revoked.refresh_token })).status).toBe(200);

    // Ada signs in on A for real; her session is pointed at the person the seed connected to Acme.
    ada.browser = new Browser();
    await signIn(ada.browser, a.url, 'ada@example.com', 'ada-demo');
    const signed = decodeURIComponent(ada.browser.cookie('gatehouse.sid')!);
    const key = `${d.redisPrefix}sess:${hashToken(signed.slice(2, signed.lastIndexOf('.')))}`;
    const client = createClient({ url: redis.url });
    await client.connect();
    const session = JSON.parse((await client.get(key))!);
    session.passport.user = person!.id;
    await client.set(key, JSON.stringify(session), { KEEPTTL: true });
    await client.quit();
  }, 170_000);

  afterAll(async () => {
    await traffic?.stop();
    console.log(`fault suite figures\n${JSON.stringify(figures, null, 2)}`);
    await d?.close().catch((err: unknown) => console.error('deployment close failed', err));
    await redis?.destroy();
    await pg?.destroy();
    if (savedEnv.db === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = savedEnv.db;
    if (savedEnv.redis === undefined) delete process.env.TEST_REDIS_URL;
    else process.env.TEST_REDIS_URL = savedEnv.redis;
  }, 60_000);

  it('Ada begins a consent on instance A: the page picker is on screen', async () => {
    const query = new URLSearchParams({ client_id: partner.clientId, redirect_uri: REDIRECT, response_type: 'code', state: 'st-fault' });
    const start = await ada.browser.request(`${a.url}/v1/oauth/authorize?${query}`);
    expect(start.status).toBe(303);
    const consentUrl = new URL(start.headers.get('location')!, a.url);
    const consent = await (await ada.browser.request(consentUrl)).text();
    const workspaceId = /<option value="([^"]+)"[^>]*>Acme<\/option>/.exec(consent)?.[1];
    expect(workspaceId).toBeDefined();
    const picker = await (await ada.browser.request(`${a.url}${consentUrl.pathname}/pages?workspace=${workspaceId}`)).text();
    const pageId = /type="checkbox" id="page-[^"]+" name="pages" value="([^"]+)"/.exec(picker)?.[1];
    expect(pageId).toBeDefined();
    ada.consentPath = `${consentUrl.pathname}/pages`;
    ada.form = new URLSearchParams({
      _csrf: hidden(picker, '_csrf')[0]!,
      workspace: workspaceId!,
      shown: hidden(picker, 'shown')[0] ?? '',
      action: 'allow',
    });
    for (const c of hidden(picker, 'capabilities')) ada.form.append('capabilities', c);
    ada.form.append('pages', pageId!);
  });

  it('steady traffic on both instances answers 200 before any fault', async () => {
    const targets: Target[] = [a, b].map((i) => ({ name: i.name, url: i.url }));
    traffic = new SteadyTraffic(targets);
    traffic.start([
      // Proxied reads spend Notion's budget (3 per second by default, shared by the instances): stay under it.
      { op: 'proxy.users.me', everyMs: 700, call: (t) => proxied(t.url, '/v1/users/me', pair.access_token) },
      { op: 'proxy.search', everyMs: 700, call: (t) => proxied(t.url, '/v1/search', pair.access_token, {}) },
      { op: 'introspect', everyMs: 50, call: (t) => post(t.url, '/v1/oauth/introspect', { token: saved.access_token }) },
      {
        op: 'refresh',
        everyMs: 100,
        call: (t) => post(t.url, '/v1/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refresh_token }),
        // A refresh that got no answer is retried with the same token, as a partner would.
        async onAnswer(response) {
          if (response.status === 200) pair = (await response.json()) as Pair;
          else await response.arrayBuffer();
        },
      },
      { op: 'revoked.proxy', everyMs: 150, call: (t) => proxied(t.url, '/v1/users/me', revoked.access_token) },
      {
        op: 'revoked.introspect',
        everyMs: 150,
        call: (t) => post(t.url, '/v1/oauth/introspect', { token: revoked.access_token }),
        onAnswer: revokedInactive,
      },
      {
        op: 'revoked.refresh',
        everyMs: 150,
        call: (t) => post(t.url, '/v1/oauth/token', { grant_type: 'refresh_token', refresh_token: revoked.refresh_token }),
      },
    ]);
    await sleep(3_000);
    const steady = traffic.answers.filter((x) => OPS.includes(x.op));
    figures.before = SteadyTraffic.byStatus(traffic.answers);
    expect(steady.length).toBeGreaterThan(20);
    expect(steady.every((x) => x.status === 200)).toBe(true);
  });

  const revokedAccepted: Answer[] = [];
  async function revokedInactive(response: Response, target: Target) {
    if (response.status !== 200) return void (await response.arrayBuffer());
    if ((await response.json()).active !== false)
      revokedAccepted.push({
        op: 'revoked.introspect',
        instance: target.name,
        started: 0,
        ended: Date.now(),
        status: 200,
        retryAfter: null,
      });
  }

  /** Runs `fault`, then measures how long after `restore` resolved both instances' traffic is back. */
  async function outage(name: string, fault: () => Promise<void>, restore: () => Promise<void>, downMs = 3_000) {
    const from = Date.now();
    await fault();
    await sleep(downMs);
    await restore();
    const backAt = Date.now();
    await until(async () => traffic.recoveryMs(backAt, OPS) < Number.POSITIVE_INFINITY, 15_000);
    const recovery = traffic.recoveryMs(backAt, OPS);
    const during = traffic.between(from, Date.now());
    const failed = during.filter((x) => OPS.includes(x.op) && x.status !== 200);
    // As a partner saw it: from the first failed answer to the last.
    const failingMs = failed.length ? Math.max(...failed.map((x) => x.ended)) - Math.min(...failed.map((x) => x.started)) : 0;
    figures[name] = { downMs, failingMs, recoveryMs: recovery, answers: SteadyTraffic.byStatus(during) };
    console.log(
      `${name}: down ${downMs} ms, partners saw failures for ${failingMs} ms, all answers good ${recovery} ms after it was back; answers ${JSON.stringify(SteadyTraffic.byStatus(during))}`,
    );
    expect(recovery).toBeLessThan(RECOVERY_BOUND_MS);
    expectOnlyTemporaryFailures(during);
    // Recovered by themselves: the instances that served before the fault are the ones serving after it.
    expect(new Set(traffic.between(backAt + recovery, Date.now()).map((x) => x.instance))).toEqual(new Set(['a', 'b']));
  }

  /** No 500: a failure is a 503 with Retry-After (or, for the revoked token, a refusal). */
  function expectOnlyTemporaryFailures(answers: Answer[]) {
    const bad = answers.filter((x) => x.status >= 500 && (x.status !== 503 || !x.retryAfter));
    expect(bad).toEqual([]);
    expect(answers.filter((x) => x.status === 0)).toEqual([]);
  }

  it('Redis killed and restarted (AOF): 503 with Retry-After meanwhile, back within seconds, nothing else', async () => {
    await outage(
      'redis restart',
      () => redis.kill(),
      () => redis.start(),
    );
  }, 40_000);

  it('after the Redis restart Ada is still signed in, on either instance', async () => {
    const page = await ada.browser.request(`${b.url}/workspaces`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Ada');
  });

  it('PostgreSQL restarted: 503 with Retry-After meanwhile, back within seconds, nothing else', async () => {
    await outage(
      'postgres restart',
      () => pg.stop('fast'),
      () => pg.start(),
    );
  }, 40_000);

  it('instance A SIGKILLed: B keeps serving; only requests in flight on A go unanswered', async () => {
    const from = Date.now();
    // A burst beyond Notion's budget: some of these wait on A for their slot when A dies.
    const burst = Array.from({ length: BURST }, () =>
      proxied(a.url, '/v1/search', pair.access_token, {}).then(
        async (r) => (await r.arrayBuffer(), r.status),
        () => 0,
      ),
    );
    await sleep(300);
    // Killed with requests in flight; the load balancer takes it out of rotation only afterwards.
    await a.kill();
    traffic.remove('a');
    const removedAt = Date.now();
    const burstStatuses = await Promise.all(burst);
    const lost = burstStatuses.filter((s) => s === 0).length;
    expect(lost).toBeGreaterThan(0);
    // Beyond the budget's longest wait the answer is 429, Notion's own refusal: the budget at work, not a fault.
    expect(burstStatuses.filter((s) => s !== 0 && s !== 200 && s !== 429)).toEqual([]);
    // The partner sends each lost call again (after Retry-After on a 429, as @notionhq/client does); B answers it.
    const retried: number[] = [];
    for (let i = 0; i < lost; i++) {
      for (let attempt = 0; ; attempt++) {
        const r = await proxied(b.url, '/v1/search', pair.access_token, {});
        await r.arrayBuffer();
        if (r.status !== 429 || attempt === 5) {
          retried.push(r.status);
          break;
        }
        await sleep(Number(r.headers.get('retry-after') ?? 1) * 1000);
      }
    }
    expect(retried.every((s) => s === 200)).toBe(true);
    await sleep(1_000);
    const during = traffic.between(from, Date.now());
    const unanswered = during.filter((x) => x.status === 0);
    // A refresh lost with A is retried with the same token on B, as the partner would: it must succeed there.
    const refreshRetried = unanswered.some((x) => x.op === 'refresh');
    figures['instance A killed'] = {
      burstLostWithA: lost,
      burstRetriedOnB: retried,
      unansweredOnA: unanswered.length,
      refreshRetriedOnB: refreshRetried,
      answers: SteadyTraffic.byStatus(during),
    };
    console.log(
      `instance A killed: ${lost} of ${BURST} burst calls lost with A, retried on B: ${JSON.stringify(retried)}; ${unanswered.length} steady requests in flight on A unanswered; answers ${JSON.stringify(SteadyTraffic.byStatus(during))}`,
    );
    expect(unanswered.every((x) => x.instance === 'a' && x.started <= removedAt)).toBe(true);
    // The burst spent Notion's budget: B may refuse a proxied call with 429 (Retry-After) for a moment, never fail it.
    expect(
      during.filter((x) => x.instance === 'b' && OPS.includes(x.op) && x.status !== 200 && !(x.status === 429 && x.retryAfter)),
    ).toEqual([]);
    expect(during.filter((x) => x.started > removedAt && x.op === 'refresh' && x.status === 200).length).toBeGreaterThan(0);
  }, 20_000);

  it('B finishes the consent Ada began on A before both restarts: a code, a token pair, a working proxied call', async () => {
    const allowed = await ada.browser.request(`${b.url}${ada.consentPath}`, {
      method: 'POST',
      body: ada.form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(allowed.status).toBe(303);
    const redirect = new URL(allowed.headers.get('location')!);
    expect(redirect.origin + redirect.pathname).toBe(REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('st-fault');
    const tokens = await redeem(b.url, redirect.searchParams.get('code')!);
    expect(tokens.status).toBe(200);
    expect((await proxied(b.url, '/v1/users/me', ((await tokens.json()) as Pair).access_token)).status).toBe(200);
  });

  it('nothing was lost: codes issued before the faults redeem, earlier tokens work, every grant is active', async () => {
    await traffic.stop();
    for (const code of laterCodes) expect((await redeem(b.url, code)).status).toBe(200);
    expect(await active(b.url, saved.access_token)).toBe(true);
    expect(await active(b.url, saved.refresh_token)).toBe(true);
    // The refresh chain that ran through every fault ends on a live pair.
    expect(await active(b.url, pair.refresh_token)).toBe(true);
    expect((await post(b.url, '/v1/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refresh_token })).status).toBe(200);
    for (const id of grantIds) expect((await d.seed.gatehouse.stores.grants.findById(id))?.status).toBe('active');
    const reused = await d.seed.gatehouse.stores.audit.list({ action: 'refresh.reused' });
    expect(reused).toEqual([]);
  });

  it('the revoked token was refused on every request, through every fault', async () => {
    expect(revokedAccepted).toEqual([]);
    const knocks = traffic.answers.filter((x) => x.op.startsWith('revoked.'));
    figures.revoked = SteadyTraffic.byStatus(knocks);
    expect(knocks.filter((x) => x.op !== 'revoked.introspect' && x.status >= 200 && x.status < 300)).toEqual([]);
    expect(knocks.filter((x) => x.status >= 500 && (x.status !== 503 || !x.retryAfter))).toEqual([]);
    figures.total = SteadyTraffic.byStatus(traffic.answers);
  });

  it('A, restarted, serves again beside B', async () => {
    a = await d.restart(a);
    await until(() => ready(a));
    expect((await proxied(a.url, '/v1/users/me', pair.access_token)).status).toBe(200);
  }, 70_000);
});
