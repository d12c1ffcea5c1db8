/**
 * The command line's internal integration commands (`integrations list`,
 * `create`, `token`, `convert`) against a real server process, as an owner
 * runs them: with a personal admin token (internal integrations are owners'
 * only, as in Notion; the bootstrap token holds no workspace). Each command
 * prints exactly one JSON object on stdout and exits non-zero on error; the
 * side effects are read back through the admin API and the audit export.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Browser, signIn } from '../support/browser.js';
import { csrfOf } from '../support/admin-actors.js';
import { listenOnFreePort } from '../support/harness.js';
import { postForm } from '../support/notion-connect.js';
import { run, startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;

describe('the command line: integrations list, create, token, convert against a real server process', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-integrations-'));
  let server: ServerProcess;
  let url: string;
  let adaToken: string;
  const gatehouse = (args: string[], token?: string) =>
    run('npm', ['run', 'gatehouse', '--', ...args], { GATEHOUSE_DATA_DIR: dataDir, ...(token ? { GATEHOUSE_ADMIN_TOKEN: token } : {}) });
  const oneJson = (stdout: string) => {
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!);
  };
  const api = async (p: string) => {
    const response = await fetch(`${url}/api/admin/v1${p}`, {
      headers: { authorization: `Bearer ${adaToken}`, accept: 'application/json' },
    });
    return { status: response.status, body: await response.json() };
  };
  const auditActions = async (action: string) =>
    (await api(`/audit?action=${action}`)).body.events as Array<{ target: { id: string } | null; actor: { type: string } }>;

  beforeAll(async () => {
    const { server: probe, url: probeUrl } = await listenOnFreePort();
    await new Promise((resolve) => probe.close(resolve));
    const port = new URL(probeUrl).port;
    url = `http://127.0.0.1:${port}`;
    server = await startServerProcess({ PORT: port, GATEHOUSE_PUBLIC_URL: url, GATEHOUSE_DATA_DIR: dataDir });
    // Ada, owner of Acme, makes a personal admin token on the page, as an operator would.
    const ada = new Browser();
    await signIn(ada, url, 'ada@example.com', 'ada-demo');
    const created = await postForm(ada, `${url}/admin/tokens`, { _csrf: await csrfOf(ada, url), label: 'cli' });
    expect(created.status).toBe(201);
    adaToken = /value="(gh_admin_[^"]+)" data-admin-token/.exec(await created.text())![1]!;
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) await stopServerProcess(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let integrationId: string;

  it('refuses mistakes before calling the server, and a caller who owns no workspace: one JSON error, non-zero exit, nothing created', async () => {
    const missingId = await gatehouse(['integrations', 'token'], adaToken);
    expect(missingId.code).toBe(2);
    expect(oneJson(missingId.stdout).error.code).toBe('missing_argument');
    const missingFlag = await gatehouse(['integrations', 'create', '--name', 'X', '--workspace', ACME], adaToken);
    expect(missingFlag.code).toBe(2);
    expect(oneJson(missingFlag.stdout).error).toEqual({ code: 'missing_flag', message: 'missing --capabilities' });
    // The bootstrap token (the data folder's) is an organisation admin's, not an owner's.
    const bootstrap = await gatehouse(['integrations', 'list']);
    expect(bootstrap.code).not.toBe(0);
    expect(oneJson(bootstrap.stdout).error.code).toBe('forbidden');
    const bad = await gatehouse(
      ['integrations', 'create', '--name', 'Bad', '--workspace', ACME, '--capabilities', 'read_everything'],
      adaToken,
    );
    expect(bad.code).not.toBe(0);
    expect(oneJson(bad.stdout).error.code).toBe('invalid_request');
    expect((await api('/integrations')).body.integrations).toEqual([]);
  });

  it('integrations create prints the new integration; list shows it with its page count', async () => {
    const created = await gatehouse(
      [
        'integrations',
        'create',
        '--name',
        'Acme digest',
        '--workspace',
        ACME,
        '--capabilities',
        'read_content,insert_content,no_user_info',
      ],
      adaToken,
    );
    expect(created.code).toBe(0);
    const body = oneJson(created.stdout);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Acme digest',
      workspace_id: ACME,
      capabilities: ['read_content', 'insert_content', 'no_user_info'],
      integration_kind: 'internal',
      logo_url: null,
      created_at: expect.any(String),
      pages: 0,
    });
    integrationId = body.id;
    expect(created.stdout).not.toContain('gh_int_');
    const listed = await gatehouse(['integrations', 'list'], adaToken);
    expect(listed.code).toBe(0);
    expect(oneJson(listed.stdout).integrations).toEqual([expect.objectContaining({ id: integrationId, name: 'Acme digest', pages: 0 })]);
    expect((await auditActions('internal_integration.created')).map((e) => e.target?.id)).toEqual([integrationId]);
  });

  it('integrations token prints the token; each retrieval is an audit event', async () => {
    const first = await gatehouse(['integrations', 'token', integrationId], adaToken);
    expect(first.code).toBe(0);
    const { id, token } = oneJson(first.stdout);
    expect([id, token]).toEqual([integrationId, expect.stringMatching(/^gh_int_[A-Za-z0-9_-]{43}$/)]);
    const second = oneJson((await gatehouse(['integrations', 'token', integrationId], adaToken)).stdout);
    expect(second.token).toBe(token);
    const reads = await auditActions('internal_integration.token_read');
    expect(reads.map((e) => [e.target?.id, e.actor.type])).toEqual([
      [integrationId, 'admin_token'],
      [integrationId, 'admin_token'],
    ]);
    expect(JSON.stringify(reads)).not.toContain(token);
    const unknown = await gatehouse(['integrations', 'token', '00000000-0000-4000-8000-000000000000'], adaToken);
    expect(unknown.code).not.toBe(0);
    expect(oneJson(unknown.stdout).error.code).toBe('not_found');
  });

  it('integrations convert prints the client id and the secret once; a bad redirect URI is refused and changes nothing', async () => {
    const refused = await gatehouse(['integrations', 'convert', integrationId, '--redirect-uri', 'http://digest.example/cb'], adaToken);
    expect(refused.code).not.toBe(0);
    expect(oneJson(refused.stdout).error).toEqual({ code: 'invalid_request', message: expect.stringMatching(/https/) });
    expect((await api(`/integrations/${integrationId}`)).body).toMatchObject({ integration_kind: 'internal' });
    const noUri = await gatehouse(['integrations', 'convert', integrationId], adaToken);
    expect([noUri.code, oneJson(noUri.stdout).error.code]).toEqual([2, 'missing_flag']);

    const converted = await gatehouse(
      [
        'integrations',
        'convert',
        integrationId,
        '--redirect-uri',
        'https://digest.acme.example/cb',
        '--redirect-uri',
        'http://localhost:8080/cb',
      ],
      adaToken,
    );
    expect(converted.code).toBe(0);
    const body = oneJson(converted.stdout);
    expect(body).toEqual({
      id: integrationId,
      integration_kind: 'public',
      client_id: expect.any(String),
      client_secret: expect.stringMatching(/^gh_cs_/),
      redirect_uris: ['https://digest.acme.example/cb', 'http://localhost:8080/cb'],
      grants: [],
    });
    // No longer internal: gone from the list, no token to read; the organisation admin sees a public app with that client id.
    expect(oneJson((await gatehouse(['integrations', 'list'], adaToken)).stdout).integrations).toEqual([]);
    expect((await gatehouse(['integrations', 'token', integrationId], adaToken)).code).not.toBe(0);
    const apps = oneJson((await gatehouse(['apps', 'list'])).stdout).apps as Array<{
      id: string;
      client_id: string;
      integration_kind: string;
    }>;
    expect(apps.find((a) => a.id === integrationId)).toMatchObject({ client_id: body.client_id, integration_kind: 'public' });
    expect(JSON.stringify(apps)).not.toContain(body.client_secret);
    expect((await auditActions('internal_integration.converted')).map((e) => e.target?.id)).toEqual([integrationId]);
  });
});
