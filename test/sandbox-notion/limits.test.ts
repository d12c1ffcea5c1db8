/**
 * Time-based rules with an injected clock: the per-(integration, workspace)
 * rate limit (429 rate_limited + Retry-After) and access-token expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { APIErrorCode, APIResponseError } from '@notionhq/client';
import { ManualClock } from '../../src/clock.js';
import { GATEHOUSE_CLIENT, startSandbox } from './harness.js';
import type { RunningSandbox } from './harness.js';

const clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
let running: RunningSandbox;

beforeAll(async () => {
  running = await startSandbox({ clock: () => clock.now(), accessTokenLifetimeSeconds: 60, rateLimitPerSecond: 3 });
});
afterAll(async () => running.stop());

const grant = (email = 'ada@example.com', workspaceName = 'Acme') =>
  running.sandbox.grantDirect({ clientId: GATEHOUSE_CLIENT.clientId, email, workspaceName });

describe('rate limit', () => {
  it('allows a burst of 10, then answers 429 rate_limited with an integer Retry-After', async () => {
    const client = running.client((await grant()).access_token);
    for (let i = 0; i < 10; i += 1) await client.users.me({});
    const failure = await client.users.me({}).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(APIResponseError);
    expect(failure).toMatchObject({ code: APIErrorCode.RateLimited, status: 429 });
    const retryAfter = ((failure as APIResponseError).headers as Headers).get('retry-after');
    expect(retryAfter).toBe('1');
  });

  it('shares the budget between the connections of one integration in one workspace, not across workspaces', async () => {
    const ben = running.client((await grant('ben@example.com')).access_token);
    await expect(ben.users.me({})).rejects.toMatchObject({ status: 429 });
    const side = running.client((await grant('ada@example.com', 'Side Project')).access_token);
    await expect(side.users.me({})).resolves.toMatchObject({ type: 'bot' });
  });

  it('refills at 3 requests per second', async () => {
    const client = running.client((await grant()).access_token);
    clock.advance(1000);
    for (let i = 0; i < 3; i += 1) await client.users.me({});
    await expect(client.users.me({})).rejects.toMatchObject({ status: 429 });
    clock.advance(10_000);
  });
});

describe('token expiry', () => {
  it('answers 401 once the access token has expired, and a refresh brings a working one', async () => {
    const first = await grant();
    const client = running.client(first.access_token);
    await expect(client.users.me({})).resolves.toMatchObject({ id: first.bot_id });
    clock.advance(61_000);
    await expect(client.users.me({})).rejects.toMatchObject({ code: APIErrorCode.Unauthorized, status: 401 });
    const notion = running.client();
    const credentials = { client_id: GATEHOUSE_CLIENT.clientId, client_secret: GATEHOUSE_CLIENT.clientSecret };
    await expect(notion.oauth.introspect({ token: first.access_token, ...credentials })).resolves.toMatchObject({ active: false });
    const refreshed = await notion.oauth.token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token as string,
      ...credentials,
    });
    await expect(running.client(refreshed.access_token).users.me({})).resolves.toMatchObject({ id: first.bot_id });
  });
});
