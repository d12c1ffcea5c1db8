/**
 * Instances killed mid-exchange, as real processes on PostgreSQL + Redis:
 * instance A is started with GATEHOUSE_TEST_PAUSE_AT=<step>, a code
 * redemption or a refresh is sent to it, and once A prints that it holds the
 * request at that step it gets SIGKILL. The partner's retry goes to instance
 * B. Inside the unit of work, PostgreSQL rolls A's transaction back: the
 * retry is an ordinary redemption or rotation. After the commit (the answer
 * lost on the way), a refresh retry gets a fresh pair (the lost-answer
 * window), and a code, single use, is refused while its grant stays active.
 * In every case the partner ends with a working pair and the grant active.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashToken } from '../../src/crypto/tokens.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { driveTraffic, startDeployment, type Deployment, type Instance } from '../support/instances.js';

const REDIRECT = 'https://partner.example/callback';

interface Pair {
  access_token: string;
  refresh_token: string;
  bot_id: string;
}

describe('an instance killed at each step of the token path', () => {
  let d: Deployment;
  let a: Instance;
  let b: Instance;
  let partner: RegisteredApp;

  const post = (base: string, path: string, body: Record<string, string>) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret!) },
      body: new URLSearchParams(body),
      signal: AbortSignal.timeout(20_000),
    });
  const redeem = (base: string, code: string) =>
    post(base, '/v1/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  const refresh = (base: string, token: string) => post(base, '/v1/oauth/token', { grant_type: 'refresh_token', refresh_token: token });
  const active = async (base: string, token: string) => (await (await post(base, '/v1/oauth/introspect', { token })).json()).active;
  const newCode = () => issueCode(d.seed.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme' });

  /** A working pair: both tokens active on B, the refresh token rotates there, its successor works on a third instance, the grant active. */
  async function expectWorkingPair(pair: Pair) {
    expect(await active(b.url, pair.access_token)).toBe(true);
    expect(await active(b.url, pair.refresh_token)).toBe(true);
    const rotated = await refresh(b.url, pair.refresh_token);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as Pair;
    expect(await active(d.seed.url, next.access_token)).toBe(true);
    expect((await d.seed.gatehouse.stores.grants.findById(pair.bot_id))?.status).toBe('active');
  }

  /** Sends `request` to A paused at `step`, waits until A holds it there, and kills A. */
  async function killAt(step: string, request: (base: string) => Promise<Response>) {
    a = await d.restart(a, { GATEHOUSE_TEST_PAUSE_AT: step });
    const inFlight = request(a.url).then(
      (r) => `answered ${r.status}`,
      () => 'lost',
    );
    // An answer before the pause means the step was never reached: fail at once rather than time out.
    const first = await Promise.race([a.waitForLine(`GATEHOUSE_PAUSED ${step}`).then(() => 'paused'), inFlight]);
    expect(first).toBe('paused');
    await a.kill();
    expect(await inFlight).toBe('lost');
  }

  beforeAll(async () => {
    d = await startDeployment();
    partner = await registerApp(d.seed.gatehouse, { redirectUris: [REDIRECT] });
    a = await d.start('a');
    b = await d.start('b');
  }, 180_000);
  afterAll(async () => d?.close(), 60_000);

  it('both instances redeem codes under concurrent traffic before anything is killed', async () => {
    const codes = await Promise.all(Array.from({ length: 6 }, () => newCode()));
    const counts = await driveTraffic([a.url, b.url], (base, i) => redeem(base, codes[i]!.code), { requests: 6, concurrency: 3 });
    expect(counts.get(200)).toBe(6);
  });

  describe.each(['code.consumed', 'code.issued', 'code.audited'])('code redemption killed at %s', (step) => {
    it('the retry on the other instance redeems the same code', async () => {
      const { code } = await newCode();
      await killAt(step, (base) => redeem(base, code));
      const retried = await redeem(b.url, code);
      expect(retried.status).toBe(200);
      await expectWorkingPair((await retried.json()) as Pair);
    }, 90_000);
  });

  it('code redemption killed after its commit: the code stays single use, the grant stays, a new authorisation works', async () => {
    const { code, grantId } = await newCode();
    await killAt('code.committed', (base) => redeem(base, code));
    const retried = await redeem(b.url, code);
    expect(retried.status).toBe(400);
    expect((await retried.json()).error).toBe('invalid_grant');
    expect((await d.seed.gatehouse.stores.grants.findById(grantId))?.status).toBe('active');
    const again = await redeem(b.url, (await newCode()).code);
    expect(again.status).toBe(200);
    await expectWorkingPair((await again.json()) as Pair);
  }, 90_000);

  describe.each(['refresh.used', 'refresh.issued', 'refresh.audited', 'refresh.committed'])('refresh killed at %s', (step) => {
    it('the retry with the same refresh token on the other instance gets a working pair; nothing counts as reuse', async () => {
      const first = (await (await redeem(b.url, (await newCode()).code)).json()) as Pair;
      await killAt(step, (base) => refresh(base, first.refresh_token));
      const retried = await refresh(b.url, first.refresh_token);
      expect(retried.status).toBe(200);
      const pair = (await retried.json()) as Pair;
      await expectWorkingPair(pair);
      expect(await d.seed.gatehouse.stores.audit.list({ action: 'refresh.reused' })).toEqual([]);
      // After the commit the lost pair was stored, and the retry revoked it: one live successor either way.
      const successors = await d.seed.gatehouse.database.db
        .selectFrom('refresh_tokens')
        .select(['revoked_at'])
        .where('parent_hash', '=', hashToken(first.refresh_token))
        .execute();
      expect(successors.length).toBe(step === 'refresh.committed' ? 2 : 1);
    }, 90_000);
  });
});
