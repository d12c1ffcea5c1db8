/**
 * The token path as units of work, on PGlite and on PostgreSQL: a write that
 * fails after the code or refresh token was spent spends nothing (the retry
 * wins), a revocation cascade that fails half-way revokes nothing, and a
 * replayed code's audit event counts the tokens it really revoked.
 * Failures are injected with a trigger, as a full disk or a constraint would
 * fail the statement.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import { sql } from 'kysely';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { revokeGrant, systemActor } from '../../src/admin/revocation.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';

const REDIRECT = 'https://partner.example/callback';

describe.each([['pglite'], ['postgres']] as const)('token units of work on %s', (database) => {
  let t: TestGatehouse;
  let partner: RegisteredApp;
  let notion: Client;
  const clock = new ManualClock();

  const token = (body: Record<string, string>) =>
    fetch(`${t.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret!) },
      body: new URLSearchParams(body),
    });
  const redeem = (code: string) => token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const introspect = (value: string) =>
    notion.oauth.introspect({ token: value, client_id: partner.clientId, client_secret: partner.clientSecret! });
  const newCode = () => issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });

  /** Every statement of `event` on `table` fails until `heal()`. */
  async function injectFailure(table: 'access_tokens' | 'refresh_tokens' | 'audit_events', event: 'insert' | 'update') {
    const db = t.gatehouse.database.db;
    await sql`create or replace function injected_failure() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(
      db,
    );
    await sql.raw(`create trigger injected before ${event} on ${table} for each row execute function injected_failure()`).execute(db);
    return { heal: () => sql.raw(`drop trigger injected on ${table}`).execute(db) };
  }

  beforeAll(async () => {
    t = await startTestGatehouse({ database, clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    partner = await registerApp(t.gatehouse, { redirectUris: [REDIRECT] });
    notion = new Client({ baseUrl: t.url, retry: false });
  });
  afterAll(async () => t.stop());

  it('a failed write after the code is consumed leaves the code redeemable', async () => {
    const { code } = await newCode();
    for (const [table, event] of [
      ['access_tokens', 'insert'],
      ['audit_events', 'insert'],
    ] as const) {
      const failure = await injectFailure(table, event);
      const failed = await redeem(code);
      await failure.heal();
      expect(failed.status).toBe(500);
      expect((await failed.json()).error).toBe('server_error');
      const row = await t.gatehouse.stores.tokens.findCode(hashToken(code));
      expect(row?.consumedAt).toBeNull();
    }
    const retried = await redeem(code);
    expect(retried.status).toBe(200);
    const answer = await retried.json();
    expect((await introspect(answer.access_token)).active).toBe(true);
    expect((await introspect(answer.refresh_token)).active).toBe(true);
  });

  it('a failed write after the refresh token is spent leaves it unspent: the retry rotates, nothing is revoked', async () => {
    const first = await (await redeem((await newCode()).code)).json();
    const failure = await injectFailure('access_tokens', 'insert');
    const failed = await refresh(first.refresh_token);
    await failure.heal();
    expect(failed.status).toBe(500);
    expect((await t.gatehouse.stores.tokens.findRefreshToken(hashToken(first.refresh_token)))?.usedAt).toBeNull();
    clock.advance(60_000); // past the lost-answer window: the retry is a plain rotation, not a replacement
    const retried = await refresh(first.refresh_token);
    expect(retried.status).toBe(200);
    const second = await retried.json();
    expect((await introspect(second.access_token)).active).toBe(true);
    expect(await t.gatehouse.stores.audit.list({ action: 'refresh.reused' })).toEqual([]);
  });

  it('a replayed code revokes what it issued, and its audit event counts those tokens', async () => {
    const { code } = await newCode();
    const first = await (await redeem(code)).json();
    clock.advance(60_000);
    const second = await (await refresh(first.refresh_token)).json();
    const replay = await redeem(code);
    expect(replay.status).toBe(400);
    expect((await replay.json()).error).toBe('invalid_grant');
    for (const value of [first.access_token, second.access_token, second.refresh_token])
      expect(await introspect(value)).toEqual({ active: false });
    const [event] = await t.gatehouse.stores.audit.list({ action: 'code.replayed' });
    // The code's family: both refresh tokens (the first was used, not revoked) and both access tokens.
    expect(event?.detail).toMatchObject({ revokedAccessTokens: 2, revokedRefreshTokens: 2 });
  });

  it('concurrent refreshes of one live token: each answered, exactly one pair left working, the grant never revoked', async () => {
    const { code, grantId } = await newCode();
    const first = await (await redeem(code)).json();
    const answers = await Promise.all(Array.from({ length: 4 }, () => refresh(first.refresh_token)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    let working = 0;
    for (const pair of await Promise.all(answers.map((r) => r.json())))
      if ((await introspect(pair.access_token)).active && (await introspect(pair.refresh_token)).active) working++;
    expect(working).toBe(1);
    expect((await t.gatehouse.stores.grants.findById(grantId))?.status).toBe('active');
  });

  it('a revocation that fails half-way revokes nothing: the grant and its tokens stay as they were', async () => {
    const { code, grantId } = await newCode();
    const answer = await (await redeem(code)).json();
    const deps = { grants: t.gatehouse.stores.grants, tokens: t.gatehouse.stores.tokens, audit: t.gatehouse.stores.audit, clock };
    const failure = await injectFailure('refresh_tokens', 'update');
    await expect(revokeGrant(deps, grantId, systemActor('test'), 'injected')).rejects.toThrow(/injected failure/);
    await failure.heal();
    expect((await t.gatehouse.stores.grants.findById(grantId))?.status).toBe('active');
    expect((await introspect(answer.access_token)).active).toBe(true);
    await revokeGrant(deps, grantId, systemActor('test'), 'retried');
    expect((await t.gatehouse.stores.grants.findById(grantId))?.status).toBe('revoked');
    expect(await introspect(answer.access_token)).toEqual({ active: false });
    expect((await t.gatehouse.stores.audit.list({ action: 'grant.revoked' })).filter((e) => e.target?.id === grantId)).toHaveLength(1);
  });
});
