/**
 * RFC 8707 resource indicators and scope narrowing: the audience named at
 * authorisation stays with the code and every refreshed token; a token
 * request naming another resource is invalid_target; several user-information
 * levels in one scope are narrowed to the lowest.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { requestedCapabilities } from '../../src/oauth/capabilities.js';
import { InvalidTarget, requestedResource, requireSameResource } from '../../src/oauth/resource.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp } from '../support/partner.js';
import { connectAgent, mcpClient } from './agent-session.js';

describe('resource indicators', () => {
  const issuer = 'https://gatehouse.example';

  it('knows the MCP endpoint and the proxy (the issuer, or nothing), and nothing else', () => {
    expect(requestedResource(issuer, undefined)).toBeNull();
    expect(requestedResource(issuer, `${issuer}/mcp`)).toBe(`${issuer}/mcp`);
    expect(requestedResource(issuer, `${issuer}/mcp/`)).toBe(`${issuer}/mcp`);
    expect(requestedResource(issuer, issuer)).toBeNull();
    expect(() => requestedResource(issuer, 'https://evil.example/mcp')).toThrow(InvalidTarget);
    expect(() => requireSameResource(`${issuer}/mcp`, issuer, issuer)).toThrow(InvalidTarget);
    expect(requireSameResource(`${issuer}/mcp`, issuer, undefined)).toBe(`${issuer}/mcp`);
  });

  it('narrows a scope naming several user-information levels to the lowest named', () => {
    const registered = ['read_content', 'user_info_with_email'] as const;
    expect(requestedCapabilities([...registered], 'read_content user_info_with_email user_info_without_email')).toEqual({
      ok: true,
      capabilities: ['read_content', 'user_info_without_email'],
    });
    expect(requestedCapabilities([...registered], 'no_user_info user_info_with_email')).toEqual({
      ok: true,
      capabilities: ['no_user_info'],
    });
  });
});

describe('tokens bound to /mcp', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
  });
  afterAll(async () => t.stop());

  it('an authorisation naming a foreign resource goes back with invalid_target', async () => {
    const { clientId, app } = await registerApp(t.gatehouse, { clientType: 'public', name: 'Target agent' });
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: app.redirectUris[0]!,
      response_type: 'code',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      resource: 'https://elsewhere.example/mcp',
    });
    const response = await fetch(`${t.url}/v1/oauth/authorize?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
  });

  it('a refresh keeps the audience; naming another resource on refresh is invalid_target', async () => {
    const session = await connectAgent(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      resource: `${t.url}/mcp`,
      name: 'Refreshing agent',
    });
    const refresh = (extra: Record<string, string>) =>
      fetch(`${t.url}/v1/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: session.refreshToken,
          client_id: session.clientId,
          client_secret: session.clientSecret,
          ...extra,
        }),
      });
    const refused = await refresh({ resource: t.url });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_target');
    const answer = await refresh({});
    expect(answer.status).toBe(200);
    const { access_token } = (await answer.json()) as { access_token: string };
    const client = await mcpClient(t.url, access_token);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
  });
});
