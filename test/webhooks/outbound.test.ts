/** The outbound POST to partner URLs: address rules, no redirects, one deadline, a short excerpt of the answer. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkWebhookUrl, createWebhookSender, OutboundError } from '../../src/webhooks/outbound.js';

let server: http.Server;
let base: string;
const received: Array<{ path: string; body: string; headers: http.IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body, headers: req.headers });
      if (req.url === '/redirect') return res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/slow') return; // never answers
      if (req.url === '/busy') return res.writeHead(503, { 'retry-after': '7' }).end('x'.repeat(5000));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('checkWebhookUrl', () => {
  it.each([
    ['ftp://example.com/hook', true],
    ['http://example.com/hook', true],
    ['http://10.0.0.1/hook', true],
    ['https://user:pw@example.com/hook', true],
    ['https://example.com/hook#x', true],
    ['not a url', true],
    ['http://localhost:3000/hook', false],
  ])('refuses %s', (url, allowLoopbackHttp) => {
    expect(() => checkWebhookUrl(url, { allowLoopbackHttp })).toThrow(OutboundError);
  });

  it('takes https anywhere and http to loopback only where the sandboxes run', () => {
    expect(checkWebhookUrl('https://hooks.example.com/x', { allowLoopbackHttp: false }).host).toBe('hooks.example.com');
    expect(checkWebhookUrl('http://127.0.0.1:9/x', { allowLoopbackHttp: true }).port).toBe('9');
  });
});

describe('createWebhookSender', () => {
  const sender = createWebhookSender({ allowLoopbackHttp: true });

  it('POSTs the body as JSON with the given headers', async () => {
    const answer = await sender.post(`${base}/ok`, '{"a":1}', { 'x-notion-signature': 'sha256=00' });
    expect(answer).toEqual({ status: 200, retryAfter: null, bodyExcerpt: 'ok' });
    const last = received.at(-1)!;
    expect(last.body).toBe('{"a":1}');
    expect(last.headers['content-type']).toBe('application/json');
    expect(last.headers['x-notion-signature']).toBe('sha256=00');
  });

  it('answers a redirect as a 3xx and never follows it', async () => {
    const before = received.length;
    expect((await sender.post(`${base}/redirect`, '{}', {})).status).toBe(302);
    expect(received.length).toBe(before + 1);
  });

  it('keeps Retry-After and at most 1 KB of the body', async () => {
    const answer = await sender.post(`${base}/busy`, '{}', {});
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('7');
    expect(answer.bodyExcerpt.length).toBe(1024);
  });

  it('gives up at the deadline', async () => {
    await expect(sender.post(`${base}/slow`, '{}', {}, 200)).rejects.toThrow(/did not answer within 0.2 s/);
  });

  it('refuses a public host name that resolves to a private address', async () => {
    const rebinding = createWebhookSender({ allowLoopbackHttp: false, resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
    await expect(rebinding.post('https://hooks.example.com/x', '{}', {})).rejects.toThrow(/not public/);
  });

  it('refuses a loopback host resolving elsewhere on the sandbox http path', async () => {
    const odd = createWebhookSender({ allowLoopbackHttp: true, resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
    await expect(odd.post('http://localhost:1/x', '{}', {})).rejects.toThrow(/not public/);
  });
});
