/**
 * RFC 7591 registration for AI agents: public clients only, https or
 * loopback redirects, unknown fields ignored, rate limited per address,
 * audited, and shown to admins as `client_kind: "agent"`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';

describe('dynamic client registration', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  const register = (body: unknown, type = 'application/json') =>
    fetch(`${t.url}/v1/oauth/register`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body) });

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, tunables: { agentRegistrationsPerWindow: 8 } });
  });
  afterAll(async () => t.stop());

  it('registers a public agent: 201, no secret, unknown fields ignored, stored as an agent, audited', async () => {
    const response = await register({
      client_name: 'Claude',
      redirect_uris: ['http://127.0.0.1:33418/callback', 'https://agent.example/cb'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      software_statement_extra: { anything: true },
      logo_uri: 'https://agent.example/logo.png',
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ client_name: 'Claude', token_endpoint_auth_method: 'none', response_types: ['code'] });
    expect(body.client_secret).toBeUndefined();
    const app = (await t.gatehouse.stores.partnerApps.findByClientId(body.client_id as string))!;
    expect(app).toMatchObject({ clientKind: 'agent', clientType: 'public', builtByOrganisation: false, name: 'Claude' });
    const audit = await t.gatehouse.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'client.registered').execute();
    expect(audit.map((a) => a.target_id)).toContain(app.id);
  });

  it('refuses confidential clients, foreign redirects and unreadable bodies with RFC 7591 errors', async () => {
    const cases: Array<[unknown, string]> = [
      [{ redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'client_secret_basic' }, 'invalid_client_metadata'],
      [{ redirect_uris: ['http://a.example/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://a.example/cb#x'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: [] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://a.example/cb'], grant_types: ['client_credentials'] }, 'invalid_client_metadata'],
      [{ redirect_uris: ['https://a.example/cb'], scope: 'read_content everything' }, 'invalid_client_metadata'],
    ];
    for (const [body, error] of cases) {
      const response = await register(body);
      expect({ body, status: response.status, error: ((await response.json()) as { error: string }).error }).toEqual({
        body,
        status: 400,
        error,
      });
    }
  });

  it('limits registrations per address', async () => {
    let last = 0;
    for (let i = 0; i < 10; i += 1) last = (await register({ redirect_uris: ['https://a.example/cb'] })).status;
    expect(last).toBe(429);
    clock.advance(3600_000);
  });
});
