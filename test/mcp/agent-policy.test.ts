/**
 * The owners' per-workspace agent policy: "No agents", "Only agents from
 * approved redirect hosts" or "Any agent" (the default). Checked at the rule
 * (allowAccess refuses before writing anything) and through the consent
 * screens over HTTP, for Ben, a member of Acme; Ada, its owner, is not held.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { ConsoleError, requireOwnerOf } from '../../src/admin/connections.js';
import { setAgentPolicy } from '../../src/admin/console/agent-policy.js';
import { allowAccess, checkAgentPolicy, ConsentRefused } from '../../src/consent/decide.js';
import { AgentPolicyInvalid, normaliseApprovedHosts } from '../../src/store/agent-policy.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';
import { Browser, signIn } from '../support/browser.js';
import { consentAndAllow } from '../support/consent-driver.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp } from '../support/partner.js';

const CALLBACK = 'http://127.0.0.1:9/callback';

describe('the owners’ agent policy', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let agent: PartnerApp;
  let ids: { ada: string; ben: string; acme: string };

  beforeAll(async () => {
    t = await startTestGatehouse({ clock });
    const response = await fetch(`${t.url}/v1/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Policy Agent', redirect_uris: [CALLBACK] }),
    });
    const { client_id } = (await response.json()) as { client_id: string };
    agent = (await t.gatehouse.stores.partnerApps.findByClientId(client_id))!;
    const [ada] = await t.gatehouse.stores.people.findByEmail('ada@example.com');
    const [ben] = await t.gatehouse.stores.people.findByEmail('ben@example.com');
    const acme = (await t.gatehouse.stores.workspaces.listForPerson(ben!.id)).find((w) => w.name === 'Acme')!;
    ids = { ada: ada!.id, ben: ben!.id, acme: acme.id };
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => t.stop());

  /** What the console does (src/admin/console/agent-policy.ts): the caller must own the workspace, then the rule saves and audits. */
  const changeAgentPolicy = async (
    person: { id: string; email: string },
    policy: 'no_agents' | 'approved_hosts' | 'any_agent',
    approvedHosts: string[],
  ) => {
    const caller = { person: (await t.gatehouse.stores.people.findById(person.id))!, isOrganisationAdmin: false };
    const workspace = await requireOwnerOf(t.gatehouse.stores, caller, ids.acme);
    const actor = { type: 'person' as const, id: person.id, label: person.email, address: null };
    return setAgentPolicy({ stores: t.gatehouse.stores, clock }, workspace, { policy, approvedHosts }, actor);
  };
  const setPolicy = (policy: 'no_agents' | 'approved_hosts' | 'any_agent', approvedHosts: string[] = []) =>
    changeAgentPolicy({ id: ids.ada, email: 'ada@example.com' }, policy, approvedHosts);
  const decide = (personId: string, app: PartnerApp = agent, redirectUri = CALLBACK) =>
    checkAgentPolicy(t.gatehouse.stores, { personId, workspaceId: ids.acme, app, redirectUri });

  it('defaults to "Any agent", and keeps a clean host list', async () => {
    expect(await t.gatehouse.stores.agentPolicies.get(ids.acme)).toEqual({ policy: 'any_agent', approvedHosts: [] });
    expect(await decide(ids.ben)).toEqual({ allowed: true });
    expect(normaliseApprovedHosts([' Agent.Example ', 'agent.example', '', '127.0.0.1'])).toEqual(['agent.example', '127.0.0.1']);
    for (const bad of ['https://agent.example', 'agent.example:443', 'a b', 'agent.example/cb'])
      expect(() => normaliseApprovedHosts([bad])).toThrow(AgentPolicyInvalid);
  });

  it('only an owner changes it, and each change is audited', async () => {
    const byBen = changeAgentPolicy({ id: ids.ben, email: 'ben@example.com' }, 'any_agent', []);
    await expect(byBen).rejects.toThrow(ConsoleError);
    await expect(byBen).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await setPolicy('approved_hosts', ['Agent.Example']);
    const audited = await t.gatehouse.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'workspace.agent_policy_changed')
      .execute();
    // The console's rule also records what the policy was before the change.
    expect(audited.map((e) => e.detail)).toEqual([
      { policy: 'approved_hosts', approvedHosts: ['agent.example'], before: { policy: 'any_agent', approvedHosts: [] } },
    ]);
    await setPolicy('any_agent');
  });

  it('decides by policy and redirect host, for agents only, members only', async () => {
    const partner = (await registerApp(t.gatehouse, { name: 'Plain partner', capabilities: ['read_content'] })).app;
    await setPolicy('no_agents');
    expect(await decide(ids.ben)).toEqual({ allowed: false, reason: expect.stringMatching(/do not allow AI agents/) });
    expect(await decide(ids.ada)).toEqual({ allowed: true });
    expect(await decide(ids.ben, partner)).toEqual({ allowed: true });
    await setPolicy('approved_hosts', ['agent.example']);
    expect(await decide(ids.ben)).toEqual({ allowed: false, reason: expect.stringMatching(/returns to 127\.0\.0\.1/) });
    expect(await decide(ids.ben, agent, 'https://AGENT.example/cb')).toEqual({ allowed: true });
    await setPolicy('approved_hosts', ['127.0.0.1']);
    expect(await decide(ids.ben)).toEqual({ allowed: true });
  });

  it('allowAccess refuses before writing anything, and audits the refusal', async () => {
    await setPolicy('no_agents');
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(ids.ben, ids.acme))!;
    const [pageId] = await t.gatehouse.database.db
      .selectFrom('page_index')
      .select('page_id')
      .where('connection_id', '=', connection.id)
      .limit(1)
      .execute()
      .then((rows) => rows.map((r) => r.page_id));
    const transaction = {
      id: 'policy-test',
      status: 'signed_in' as const,
      appId: agent.id,
      clientId: agent.clientId!,
      redirectUri: CALLBACK,
      redirectUriExplicit: true,
      state: null,
      codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      capabilities: agent.capabilities,
      resource: null,
      createdAt: clock.now().getTime(),
      picks: { workspaceId: ids.acme, pageIds: [] },
    };
    const refused = allowAccess(
      { ...t.gatehouse.stores, clock, codeLifetimeSeconds: 60 },
      {
        lookup: { ok: true, transaction },
        person: { id: ids.ben, label: 'ben@example.com' },
        workspaceId: ids.acme,
        pages: { kind: 'picked', pageIds: [pageId!] },
        capabilities: null,
        address: null,
      },
    );
    await expect(refused).rejects.toThrow(ConsentRefused);
    await expect(refused).rejects.toMatchObject({ kind: 'agent_policy', status: 403 });
    expect(await t.gatehouse.stores.grants.findFor(ids.ben, agent.id, ids.acme)).toBeNull();
    const audited = await t.gatehouse.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'consent.refused').execute();
    expect(audited.map((e) => e.detail)).toContainEqual(expect.objectContaining({ reason: 'agent_policy' }));
  });

  it('the consent screen tells Ben why, and lets him through once his agent’s host is approved', async () => {
    const ben = new Browser();
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    const authorizeUrl = () =>
      `${t.url}/v1/oauth/authorize?${new URLSearchParams({
        client_id: agent.clientId!,
        redirect_uri: CALLBACK,
        response_type: 'code',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        scope: 'read_content',
      })}`;
    const screen = async () => {
      const start = await ben.request(authorizeUrl());
      const consentUrl = new URL(start.headers.get('location')!, t.url);
      return (await ben.request(`${consentUrl}?workspace=${ids.acme}`)).text();
    };
    await setPolicy('no_agents');
    expect(await screen()).toMatch(/The owners of Acme do not allow AI agents to connect/);
    await setPolicy('approved_hosts', ['agent.example']);
    expect(await screen()).toMatch(/only allow AI agents that return to a host they approved/);
    await expect(consentAndAllow(ben, t.url, authorizeUrl(), 'Acme')).rejects.toThrow(/allow answered 403/);
    await setPolicy('approved_hosts', ['agent.example', '127.0.0.1']);
    const back = await consentAndAllow(ben, t.url, authorizeUrl(), 'Acme');
    expect(back.origin + back.pathname).toBe(CALLBACK);
    expect(back.searchParams.get('code')).toMatch(/^gh_code_/);
  });
});
