/**
 * Cross-cutting HTTP behaviour: security headers, the error renderer, health
 * and metrics, request logs without secrets, and the session cookie's shape
 * behind a TLS-terminating proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { pino } from 'pino';
import session from 'express-session';
import { ManualClock } from '../../src/clock.js';
import { requestLogger } from '../../src/http/logging.js';
import { absoluteTimeout, sessionMiddleware } from '../../src/identity/sessions.js';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';

describe('HTTP basics on a running Gatehouse', () => {
  let t: TestGatehouse;
  beforeAll(async () => {
    t = await startTestGatehouse({ env: { GATEHOUSE_METRICS_TOKEN: 'metrics-token-for-tests-0123456789' } });
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers of /metrics when a metrics token is set', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-tests-0123456789' } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toContain('gatehouse_http_requests_total');
    // Bounded labels: route patterns, never raw paths with ids.
    expect(text).not.toMatch(/route="\/workspaces\/[0-9a-f-]{36}/);
  });

  it('serves pages with a strict CSP, no framing, no referrer and no caching', async () => {
    const response = await fetch(`${t.url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers health and readiness', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'not configured' } });
  });

  it('renders errors as HTML for browsers and as JSON for APIs, 4xx not 500', async () => {
    const page = await fetch(`${t.url}/no-such-page`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('There is no page here.');
    const api = await fetch(`${t.url}/api/admin/v1/nothing`, { headers: { authorization: `Bearer ${t.gatehouse.adminToken}` } });
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: 'not_found', message: 'There is no page here.' } });
    const badJson = await fetch(`${t.url}/api/admin/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.gatehouse.adminToken}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ error: { code: 'invalid_request', message: 'The request body is not valid JSON.' } });
    const huge = await fetch(`${t.url}/api/admin/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.gatehouse.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'a'.repeat(300_000) }),
    });
    expect(huge.status).toBe(413);
    const badHeader = await fetch(`${t.url}/api/admin/v1/workspaces`, { headers: { authorization: 'Basic abc' } });
    expect(badHeader.status).toBe(401);
  });

  it('publishes the admin API description without authentication', async () => {
    const response = await fetch(`${t.url}/api/admin/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect((await response.json()).openapi).toBe('3.1.0');
  });

  it('refuses a page of another person: Ben cannot refresh Side Project, which he is not in', async () => {
    const browser = new Browser();
    const { response } = await signIn(browser, t.url, 'ben@example.com', 'ben-demo');
    const html = await response.text();
    expect(html).toContain('Acme');
    expect(html).not.toContain('Side Project');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const [sideProject] = t.gatehouse.sandboxNotion!.workspaces().filter((w) => w.name === 'Side Project');
    const refused = await browser.request(`${t.url}/workspaces/${sideProject!.id}/refresh`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: csrf }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
    expect(refused.status).toBe(404);
  });
});

describe('request logs', () => {
  it('carry a request id and never the authorization header, cookies, codes or state', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const app = express();
    app.use(requestLogger(logger));
    app.get('/cb', (_req, res) => {
      res.status(400).send('x');
    });
    await request(app)
      .get('/cb?code=secret-code-123&state=secret-state-456&ok=1')
      .set('authorization', 'Bearer secret-bearer-789')
      .set('cookie', 'gatehouse.sid=secret-cookie-000');
    const text = lines.join('');
    expect(text).toContain('"id"');
    expect(text).toContain('ok=1');
    for (const secret of ['secret-code-123', 'secret-state-456', 'secret-bearer-789', 'secret-cookie-000'])
      expect(text).not.toContain(secret);
    // One line per answer, in the shape operators' queries read.
    const [line] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'GET', url: '/cb?code=[redacted]&state=[redacted]&ok=1' },
      res: { statusCode: 400 },
    });
    expect(typeof line!.responseTime).toBe('number');
  });

  it('logs a 5xx at error, keeps a well-formed incoming request id, and writes nothing below its level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = express();
    app.use(requestLogger(pino({ level: 'info' }, sink)));
    app.get('/boom', (_req, res) => {
      res.status(503).send('x');
    });
    await request(app).get('/boom').set('x-request-id', 'lb-request-0001');
    await request(app).get('/boom').set('x-request-id', '<script>');
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; msg: string; req: { id: string } });
    expect(parsed.map((l) => [l.level, l.msg])).toEqual([
      [50, 'request errored'],
      [50, 'request errored'],
    ]);
    expect(parsed[0]!.req.id).toBe('lb-request-0001');
    expect(parsed[1]!.req.id).toMatch(/^[0-9a-f-]{36}$/);

    const quiet: string[] = [];
    const quietApp = express();
    quietApp.use(requestLogger(pino({ level: 'warn' }, new Writable({ write: (c, _e, d) => (quiet.push(String(c)), d()) }))));
    quietApp.get('/ok', (_req, res) => {
      res.send('ok');
    });
    await request(quietApp).get('/ok');
    expect(quiet).toEqual([]);
  });
});

describe('session cookie', () => {
  function appWith(secureCookies: boolean, clock = new ManualClock()) {
    const app = express();
    app.set('trust proxy', 1);
    app.use(
      sessionMiddleware({
        secret: 'x'.repeat(40),
        secureCookies,
        trustProxy: true,
        idleMinutes: 30,
        absoluteHours: 1,
        store: new session.MemoryStore(),
      }),
    );
    app.use(absoluteTimeout(clock, 1));
    app.get('/start', (req, res) => {
      req.session.signedInAt = clock.now().getTime();
      res.send('started');
    });
    app.get('/who', (req, res) => {
      res.send(req.session.signedInAt ? 'signed in' : 'anonymous');
    });
    return app;
  }

  it('is __Host- prefixed, Secure, HttpOnly, SameSite=Lax behind an https proxy', async () => {
    const response = await request(appWith(true)).get('/start').set('x-forwarded-proto', 'https');
    const cookie = response.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^__Host-gatehouse=/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).not.toMatch(/Domain=/);
  });

  it('is plain on http (the embedded default on localhost)', async () => {
    const cookie = (await request(appWith(false)).get('/start')).headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^gatehouse\.sid=/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('ends after the absolute lifetime however active it was', async () => {
    const clock = new ManualClock();
    const app = appWith(false, clock);
    const agent = request.agent(app);
    await agent.get('/start');
    expect((await agent.get('/who')).text).toBe('signed in');
    clock.advance(59 * 60_000);
    expect((await agent.get('/who')).text).toBe('signed in');
    clock.advance(2 * 60_000);
    expect((await agent.get('/who')).text).toBe('anonymous');
  });
});
