/**
 * The owners' "AI agents" section of "Connections", over HTTP as a browser
 * without JavaScript sends it, and its admin API and command line
 * equivalents: Ada (Acme's owner) sets "No agents" and Ben's agent is
 * refused with the sentence; "Only agents from approved redirect hosts" with
 * the agent's host listed lets it through, and the agent then shows as
 * "AI agent" on "Connections" and "My connections"; Ben (a member), another
 * workspace's owner and nobody at all cannot change it; bad input changes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/gatehouse.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { createOutsider, signInAs } from '../support/admin-actors.js';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { consentAndAllow } from '../support/consent-driver.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp } from '../support/partner.js';

const CALLBACK = 'http://127.0.0.1:9/callback';
const ACME = SEED_WORKSPACE_IDS.acme;
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const decode = (html: string) =>
  html
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

describe('the "AI agents" section of "Connections", its API and its command', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  const ben = new Browser();
  let adaCsrf: string;
  let benCsrf: string;
  let benToken: string;
  let agentClientId: string;

  const page = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: decode(await response.text()) };
  };
  const post = (browser: Browser, path: string, form: Record<string, string>) =>
    browser.request(`${t.url}${path}`, { method: 'POST', body: new URLSearchParams(form) });
  const savePolicy = (browser: Browser, csrf: string, policy: string, hosts?: string) =>
    post(browser, `/connections/${ACME}/agent-policy`, {
      _csrf: csrf,
      agent_policy: policy,
      ...(hosts !== undefined ? { approved_hosts: hosts } : {}),
    });
  const api = (path: string, init: { method?: string; body?: unknown; token?: string | null; browser?: Browser; csrf?: string } = {}) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const body = init.body !== undefined ? JSON.stringify(init.body) : undefined;
    if (init.browser) {
      if (init.csrf) headers['x-csrf-token'] = init.csrf;
      return init.browser.request(`${t.url}/api/admin/v1${path}`, {
        method: init.method,
        headers,
        body: body as unknown as URLSearchParams,
      });
    }
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? t.gatehouse.adminToken}`;
    return fetch(`${t.url}/api/admin/v1${path}`, { method: init.method ?? 'GET', headers, body });
  };
  const stored = () => t.gatehouse.stores.agentPolicies.get(ACME);
  const audited = () =>
    t.gatehouse.database.db
      .selectFrom('audit_events')
      .select(['actor_type', 'detail'])
      .where('action', '=', 'workspace.agent_policy_changed')
      .orderBy('occurred_at')
      .execute();
  const authorizeUrl = () =>
    `${t.url}/v1/oauth/authorize?${new URLSearchParams({
      client_id: agentClientId,
      redirect_uri: CALLBACK,
      response_type: 'code',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      scope: 'read_content',
    })}`;
  const bensConsentScreen = async () => {
    const start = await ben.request(authorizeUrl());
    const consentUrl = new URL(start.headers.get('location')!, t.url);
    return decode(await (await ben.request(`${consentUrl}?workspace=${ACME}`)).text());
  };
  const section = (html: string) => /<section aria-labelledby="agents-heading">[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
  const checked = (html: string) => /id="agent-policy-([a-z_]+)" name="agent_policy" value="[a-z_]+" checked/.exec(section(html))?.[1];

  beforeAll(async () => {
    t = await startTestGatehouse();
    const registered = await fetch(`${t.url}/v1/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Console Agent', redirect_uris: [CALLBACK] }),
    });
    agentClientId = ((await registered.json()) as { client_id: string }).client_id;
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    adaCsrf = csrfTokenOf((await page(ada, '/workspaces')).html);
    benCsrf = csrfTokenOf((await page(ben, '/workspaces')).html);
    const [benPerson] = await t.gatehouse.stores.people.findByEmail('ben@example.com');
    benToken = (await t.gatehouse.stores.adminTokens.create({ personId: benPerson!.id, label: 'Ben laptop', bootstrap: false }, new Date()))
      .token;
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => t.stop());

  it('shows the three choices, "Any agent" first chosen, and an empty host list', async () => {
    const { status, html } = await page(ada, `/connections?workspace=${ACME}`);
    expect(status).toBe(200);
    const s = section(html);
    expect(s).toContain('<h3 id="agents-heading">AI agents</h3>');
    for (const label of ['No agents', 'Only agents from approved redirect hosts', 'Any agent']) expect(s).toContain(`>${label}</label>`);
    expect(checked(html)).toBe('any_agent');
    expect(s).toMatch(/<textarea id="agent-hosts" name="approved_hosts"[^>]*><\/textarea>/);
    expect(s).toContain('Save agent policy');
  });

  it('"No agents": saved, audited, and Ben\'s agent is refused with the sentence', async () => {
    const saved = await savePolicy(ada, adaCsrf, 'no_agents', '');
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/connections?workspace=${ACME}&agent_notice=saved#agents-heading`);
    const { html } = await page(ada, `/connections?workspace=${ACME}&agent_notice=saved`);
    expect(section(html)).toContain('<p class="notice" role="status">Agent policy saved.</p>');
    expect(checked(html)).toBe('no_agents');
    expect(await stored()).toEqual({ policy: 'no_agents', approvedHosts: [] });
    expect(await audited()).toEqual([
      { actor_type: 'person', detail: { policy: 'no_agents', approvedHosts: [], before: { policy: 'any_agent', approvedHosts: [] } } },
    ]);
    expect(await bensConsentScreen()).toContain(
      'The owners of Acme do not allow AI agents to connect. Ask a workspace owner if you need one.',
    );
    await expect(consentAndAllow(ben, t.url, authorizeUrl(), 'Acme')).rejects.toThrow(/allow answered 403/);
  });

  it('a bad host changes nothing and says why, without echoing it in the URL', async () => {
    const refused = await savePolicy(ada, adaCsrf, 'approved_hosts', 'https://agent.example/cb');
    expect(refused.headers.get('location')).toBe(`/connections?workspace=${ACME}&agent_error=hosts#agents-heading`);
    const { html } = await page(ada, `/connections?workspace=${ACME}&agent_error=hosts`);
    expect(section(html)).toMatch(/<p class="error" role="alert">Nothing saved: write each host name without https:\/\//);
    expect(await stored()).toEqual({ policy: 'no_agents', approvedHosts: [] });
    expect((await savePolicy(ada, adaCsrf, 'some_agents')).status).toBe(400);
    expect((await post(ada, `/connections/${ACME}/agent-policy`, { _csrf: adaCsrf, agent_policy: 'any_agent', extra: '1' })).status).toBe(
      400,
    );
    expect(await stored()).toEqual({ policy: 'no_agents', approvedHosts: [] });
    expect(await audited()).toHaveLength(1);
  });

  it('"Only agents from approved redirect hosts" with the agent\'s host listed lets Ben\'s agent through', async () => {
    await savePolicy(ada, adaCsrf, 'approved_hosts', 'agent.example');
    expect(await bensConsentScreen()).toContain(
      'only allow AI agents that return to a host they approved, and this agent returns to 127.0.0.1',
    );
    await savePolicy(ada, adaCsrf, 'approved_hosts', ' Agent.Example\r\n127.0.0.1\r\n');
    expect(await stored()).toEqual({ policy: 'approved_hosts', approvedHosts: ['agent.example', '127.0.0.1'] });
    const { html } = await page(ada, `/connections?workspace=${ACME}`);
    expect(checked(html)).toBe('approved_hosts');
    expect(section(html)).toContain('>agent.example\n127.0.0.1</textarea>');
    const back = await consentAndAllow(ben, t.url, authorizeUrl(), 'Acme');
    expect(back.origin + back.pathname).toBe(CALLBACK);
    expect(back.searchParams.get('code')).toMatch(/^gh_code_/);
  });

  it('the agent shows as "AI agent", its name unverified, on "My connections" and "Connections"; a partner does not', async () => {
    const partner = await registerApp(t.gatehouse, { name: 'Plain Partner', capabilities: ['read_content'] });
    const agentApp = (await t.gatehouse.stores.partnerApps.findByClientId(agentClientId))!;
    const label = 'AI agent</strong>: the name "Console Agent" is the agent\'s own claim, not verified';
    const mine = await page(ben, '/connections/mine');
    const mineRow = /<tr data-grant-id="[^"]+">\s*<th scope="row">Console Agent[\s\S]*?<\/tr>/.exec(mine.html)?.[0];
    expect(mineRow).toContain(label);
    expect(mineRow).toContain('data-client-kind="agent"');
    const owners = await page(ada, `/connections?workspace=${ACME}`);
    const row = new RegExp(`<tr data-app-id="${agentApp.id}">[\\s\\S]*?</tr>`).exec(owners.html)?.[0];
    expect(row).toContain(label);
    expect(row).toContain('View users with access');
    expect(owners.html).not.toContain('the name "Plain Partner"');
    expect(partner.app.clientKind).toBe('partner');
  });

  it("a member, another workspace's owner and nobody cannot read or change it: 403, 404, 401; nothing changes", async () => {
    const before = await stored();
    const outsider = await createOutsider(t, { email: 'olga@example.com', name: 'Olga', workspace: { id: 'olga-ws', name: 'Olga’s' } });
    const olga = await signInAs(t, outsider);
    const olgaCsrf = csrfTokenOf((await page(olga, '/workspaces')).html);
    const put = { policy: 'any_agent', approved_hosts: [] };
    const cells: Array<[string, number, number]> = [
      ['member page form', (await savePolicy(ben, benCsrf, 'any_agent', '')).status, 403],
      ['member GET by session', (await api(`/workspaces/${ACME}/agent-policy`, { browser: ben })).status, 403],
      [
        'member PUT by session',
        (await api(`/workspaces/${ACME}/agent-policy`, { method: 'PUT', body: put, browser: ben, csrf: benCsrf })).status,
        403,
      ],
      ['member GET by token', (await api(`/workspaces/${ACME}/agent-policy`, { token: benToken })).status, 403],
      ['member PUT by token', (await api(`/workspaces/${ACME}/agent-policy`, { method: 'PUT', body: put, token: benToken })).status, 403],
      ['outsider page form', (await savePolicy(olga, olgaCsrf, 'any_agent', '')).status, 404],
      [
        'outsider PUT',
        (await api(`/workspaces/${ACME}/agent-policy`, { method: 'PUT', body: put, browser: olga, csrf: olgaCsrf })).status,
        404,
      ],
      ['no token GET', (await api(`/workspaces/${ACME}/agent-policy`, { token: null })).status, 401],
      ['no token PUT', (await api(`/workspaces/${ACME}/agent-policy`, { method: 'PUT', body: put, token: null })).status, 401],
      ['owner PUT without CSRF', (await api(`/workspaces/${ACME}/agent-policy`, { method: 'PUT', body: put, browser: ada })).status, 403],
    ];
    expect(cells.map(([name, got]) => [name, got])).toEqual(cells.map(([name, , want]) => [name, want]));
    expect(await stored()).toEqual(before);
  });

  it('the admin API: GET and PUT, hosts kept when left out, bad input 400 with nothing changed', async () => {
    const path = `/workspaces/${ACME}/agent-policy`;
    const got = await api(path);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      object: 'agent_policy',
      workspace_id: ACME,
      policy: 'approved_hosts',
      approved_hosts: ['agent.example', '127.0.0.1'],
    });
    const put = await api(path, { method: 'PUT', body: { policy: 'no_agents' } });
    expect(await put.json()).toEqual({
      object: 'agent_policy',
      workspace_id: ACME,
      policy: 'no_agents',
      approved_hosts: ['agent.example', '127.0.0.1'],
    });
    const before = await audited();
    expect(before.at(-1)!.actor_type).toBe('admin_token');
    for (const body of [
      { policy: 'all' },
      { policy: 'any_agent', approved_hosts: ['agent.example:443'] },
      { policy: 'any_agent', approved_hosts: 'agent.example' },
      { policy: 'any_agent', hosts: [] },
      {},
    ]) {
      const refused = await api(path, { method: 'PUT', body });
      expect([JSON.stringify(body), refused.status]).toEqual([JSON.stringify(body), 400]);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toEqual(expect.any(String));
    }
    expect(await stored()).toEqual({ policy: 'no_agents', approvedHosts: ['agent.example', '127.0.0.1'] });
    expect(await audited()).toHaveLength(before.length);
    const openapi = (await (await fetch(`${t.url}/api/admin/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(openapi.paths['/workspaces/{workspace_id}/agent-policy'] ?? {}).sort()).toEqual(['get', 'put']);
  });

  it('the command line: workspaces agent-policy shows and sets it, refusing bad flags before calling', async () => {
    const env = { GATEHOUSE_URL: t.url, GATEHOUSE_ADMIN_TOKEN: t.gatehouse.adminToken };
    expect(await runCli(['workspaces', 'agent-policy', '--workspace', ACME], env)).toMatchObject({ policy: 'no_agents' });
    expect(
      await runCli(
        ['workspaces', 'agent-policy', '--workspace', ACME, '--agents', 'approved_hosts', '--hosts', 'claude.ai, chatgpt.com'],
        env,
      ),
    ).toEqual({
      object: 'agent_policy',
      workspace_id: ACME,
      policy: 'approved_hosts',
      approved_hosts: ['claude.ai', 'chatgpt.com'],
    });
    expect(await runCli(['workspaces', 'agent-policy', '--workspace', ACME, '--agents', 'any_agent'], env)).toMatchObject({
      policy: 'any_agent',
      approved_hosts: ['claude.ai', 'chatgpt.com'],
    });
    await expect(runCli(['workspaces', 'agent-policy', '--workspace', ACME, '--agents', 'some'], {})).rejects.toMatchObject({
      code: 'bad_arguments',
    });
    await expect(runCli(['workspaces', 'agent-policy', '--workspace', ACME, '--hosts', 'a.example'], {})).rejects.toMatchObject({
      code: 'bad_arguments',
    });
    await expect(runCli(['workspaces', 'agent-policy'], {})).rejects.toMatchObject({ code: 'missing_flag' });
    await expect(
      runCli(['workspaces', 'agent-policy', '--workspace', ACME, '--agents', 'any_agent', '--hosts', 'x:1'], env),
    ).rejects.toMatchObject({
      exitCode: expect.any(Number),
    });
    expect(await stored()).toEqual({ policy: 'any_agent', approvedHosts: ['claude.ai', 'chatgpt.com'] });
  });
});
