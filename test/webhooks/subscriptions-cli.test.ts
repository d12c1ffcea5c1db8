/**
 * The command line's `webhooks subscribe`, `webhooks verify`, `webhooks
 * list` (and rotate-secret, resend-verification, delete) as an operator runs
 * them: real `npm run gatehouse` processes against a Gatehouse on PostgreSQL
 * and Redis. Each prints exactly one JSON object and exits non-zero on
 * error; the partner's own verification runs here too, with its failure
 * counters in Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { run } from '../support/processes.js';
import { openidClientBasic, registerDashedApp, startReceiver, type Receiver } from './subscriptions-support.js';

describe('the command line: webhooks subscribe, verify, list against a server on PostgreSQL and Redis', () => {
  let t: TestGatehouse;
  let receiver: Receiver;
  let partner: { clientId: string; clientSecret: string; id: string };
  const gatehouse = (args: string[]) =>
    run('npm', ['run', 'gatehouse', '--', ...args], { GATEHOUSE_URL: t.url, GATEHOUSE_ADMIN_TOKEN: t.gatehouse.adminToken });
  const oneJson = (stdout: string) => {
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!);
  };
  const rows = () => t.gatehouse.database.db.selectFrom('webhook_subscriptions').selectAll().execute();

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true });
    receiver = await startReceiver();
    partner = await registerDashedApp(t.gatehouse, 'Hookflow');
  }, 90_000);
  afterAll(async () => {
    await receiver.close();
    await t.stop();
  });

  it('refuses mistakes before calling the server, and bad input at the server: one JSON error, non-zero exit, nothing stored', async () => {
    const noId = await gatehouse(['webhooks', 'verify', '--token', 'x']);
    expect([noId.code, oneJson(noId.stdout).error.code]).toEqual([2, 'missing_argument']);
    const noFlags = await gatehouse(['webhooks', 'subscribe', '--client-id', partner.clientId]);
    expect(noFlags.code).toBe(2);
    expect(oneJson(noFlags.stdout).error).toEqual({ code: 'missing_flag', message: 'missing --url, --events' });
    const unknownFlag = await gatehouse(['webhooks', 'list', '--status', 'active']);
    expect([unknownFlag.code, oneJson(unknownFlag.stdout).error.code]).toEqual([2, 'unknown_flag']);
    const badEvent = await gatehouse([
      'webhooks',
      'subscribe',
      '--client-id',
      partner.clientId,
      '--url',
      receiver.url,
      '--events',
      'page.exploded',
    ]);
    expect(badEvent.code).toBe(1);
    expect(oneJson(badEvent.stdout).error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/Unknown event type "page\.exploded"/),
    });
    const badUrl = await gatehouse([
      'webhooks',
      'subscribe',
      '--client-id',
      partner.clientId,
      '--url',
      'http://partner.example/h',
      '--events',
      'page.created',
    ]);
    expect([badUrl.code, oneJson(badUrl.stdout).error.code]).toEqual([1, 'invalid_request']);
    expect(await rows()).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  let subscription: { id: string; status: string; signing_secret?: string; events: string[]; client_id: string };
  let token: string;

  it('subscribes: prints the pending subscription with its signing secret; the URL gets the token', async () => {
    const result = await gatehouse([
      'webhooks',
      'subscribe',
      '--client-id',
      partner.clientId,
      '--url',
      receiver.url,
      '--events',
      'page.created,comment.created',
    ]);
    expect(result.code).toBe(0);
    subscription = oneJson(result.stdout);
    expect(subscription).toMatchObject({ client_id: partner.clientId, status: 'pending', events: ['page.created', 'comment.created'] });
    expect(subscription.signing_secret).toMatch(/^whsec_/);
    token = receiver.lastToken();
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('lists subscriptions, all or by client id, without secrets', async () => {
    const all = oneJson((await gatehouse(['webhooks', 'list'])).stdout);
    expect(all.subscriptions.map((s: { id: string }) => s.id)).toEqual([subscription.id]);
    expect(all.subscriptions[0].signing_secret).toBeUndefined();
    const mine = oneJson((await gatehouse(['webhooks', 'list', '--client-id', partner.clientId])).stdout);
    expect(mine.subscriptions).toHaveLength(1);
    const unknown = await gatehouse(['webhooks', 'list', '--client-id', 'nobody']);
    expect([unknown.code, oneJson(unknown.stdout).error.code]).toEqual([1, 'not_found']);
  });

  it('verify with a wrong token is refused and changes nothing; with the right one the subscription is active', async () => {
    const wrong = await gatehouse(['webhooks', 'verify', subscription.id, '--token', 'secret_wrong']);
    expect([wrong.code, oneJson(wrong.stdout).error.code]).toEqual([1, 'invalid_request']);
    expect((await rows())[0]!.status).toBe('pending');
    const right = await gatehouse(['webhooks', 'verify', subscription.id, '--token', token]);
    expect(right.code).toBe(0);
    expect(oneJson(right.stdout)).toMatchObject({ id: subscription.id, status: 'active' });
    expect(right.stdout).not.toContain(token);
  });

  it('the partner verifies its own subscription with openid-client Basic credentials (failures counted in Redis)', async () => {
    const second = oneJson(
      (await gatehouse(['webhooks', 'subscribe', '--client-id', partner.clientId, '--url', receiver.url, '--events', 'page.moved'])).stdout,
    );
    const verify = (verification_token: string) =>
      fetch(`${t.url}/v1/webhooks/subscriptions/${second.id}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: openidClientBasic(partner.clientId, partner.clientSecret) },
        body: JSON.stringify({ verification_token }),
      });
    expect((await verify('secret_wrong')).status).toBe(400);
    const ok = await verify(receiver.lastToken());
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: second.id, status: 'active' });
  });

  it('rotates the signing secret, refuses to resend to an active subscription, and deletes', async () => {
    const rotated = await gatehouse(['webhooks', 'rotate-secret', subscription.id]);
    expect(rotated.code).toBe(0);
    const answer = oneJson(rotated.stdout);
    expect(answer.signing_secret).toMatch(/^whsec_/);
    expect(answer.signing_secret).not.toBe(subscription.signing_secret);
    const resend = await gatehouse(['webhooks', 'resend-verification', subscription.id]);
    expect([resend.code, oneJson(resend.stdout).error.code]).toEqual([1, 'conflict']);
    const deleted = await gatehouse(['webhooks', 'delete', subscription.id]);
    expect(oneJson(deleted.stdout)).toEqual({ id: subscription.id, deleted: true });
    expect((await rows()).map((r) => r.id)).not.toContain(subscription.id);
  });
});
