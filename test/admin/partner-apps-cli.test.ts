/** Partner apps from the command line, against a real server process. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenOnFreePort } from '../support/harness.js';
import { run, startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';
import { runCli } from '../../src/cli/gatehouse.js';

describe('the command line: apps create, list, rotate-secret against a real server process', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-apps-'));
  let server: ServerProcess;
  const gatehouse = (...args: string[]) => run('npm', ['run', 'gatehouse', '--', ...args], { GATEHOUSE_DATA_DIR: dataDir });
  const oneJson = (stdout: string) => {
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!);
  };

  beforeAll(async () => {
    const { server: probe, url } = await listenOnFreePort();
    await new Promise((resolve) => probe.close(resolve));
    const port = new URL(url).port;
    server = await startServerProcess({ PORT: port, GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEHOUSE_DATA_DIR: dataDir });
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) await stopServerProcess(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let created: { client_id: string; client_secret: string };

  it('refuses an unknown flag, a missing value and a missing client id before calling the server', async () => {
    await expect(runCli(['apps', 'create', '--name', 'X', '--colour', 'red'], {})).rejects.toMatchObject({
      code: 'unknown_flag',
      exitCode: 2,
    });
    await expect(runCli(['apps', 'create', '--name'], {})).rejects.toMatchObject({ code: 'missing_value' });
    await expect(runCli(['apps', 'create', '--name', 'X'], {})).rejects.toMatchObject({ code: 'missing_flag' });
    await expect(runCli(['apps', 'rotate-secret'], {})).rejects.toMatchObject({ code: 'missing_argument' });
    await expect(runCli(['apps', 'list', 'extra'], {})).rejects.toMatchObject({ code: 'unexpected_argument' });
    await expect(runCli(['workspaces', 'list', '--all'], {})).rejects.toMatchObject({ code: 'unknown_flag' });
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'X',
      '--redirect-uri',
      'https://x.example/cb',
      '--capabilities',
      'read_content',
      '--colour',
      'red',
    );
    expect(result.code).not.toBe(0);
    expect(oneJson(result.stdout).error.code).toBe('unknown_flag');
  });

  it('apps create prints one JSON object with the client id and the secret', async () => {
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'Zapflow',
      '--redirect-uri',
      'https://zapflow.example/cb',
      '--redirect-uri',
      'http://localhost:8080/cb',
      '--capabilities',
      'read_content,insert_content,user_info_without_email',
      '--built-by-organisation',
      '--website',
      'https://zapflow.example',
      '--support-contact',
      'help@zapflow.example',
      `--logo-url=${server.readyLine.replace(/^.*open /, '').replace(/\/$/, '')}/static/demo-partner-logo.png`,
    );
    expect(result.code).toBe(0);
    const body = oneJson(result.stdout);
    expect(body).toMatchObject({
      client_id: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      client_secret: expect.stringMatching(/^gh_cs_[A-Za-z0-9_-]+$/),
      name: 'Zapflow',
      redirect_uris: ['https://zapflow.example/cb', 'http://localhost:8080/cb'],
      capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
      client_type: 'confidential',
      built_by_organisation: true,
      logo_url: expect.stringMatching(/^\/apps\/[0-9a-f-]{36}\/logo$/),
    });
    created = body;
  });

  it('apps create --public-client gives no secret', async () => {
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'Desktop',
      '--redirect-uri',
      'http://127.0.0.1:7777/cb',
      '--capabilities',
      'read_content',
      '--public-client',
    );
    expect(result.code).toBe(0);
    const body = oneJson(result.stdout);
    expect(body).toMatchObject({ client_type: 'public', capabilities: ['read_content', 'no_user_info'] });
    expect('client_secret' in body).toBe(false);
  });

  it('apps create reports bad input as a JSON error with a non-zero exit', async () => {
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'Bad',
      '--redirect-uri',
      'http://partner.example/cb',
      '--capabilities',
      'read_content',
    );
    expect(result.code).not.toBe(0);
    expect(oneJson(result.stdout).error).toEqual({ code: 'invalid_request', message: expect.stringMatching(/must use https/) });
  });

  it('apps list shows the apps without secrets', async () => {
    const result = await gatehouse('apps', 'list');
    expect(result.code).toBe(0);
    const body = oneJson(result.stdout);
    expect(body.apps.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['Zapflow', 'Desktop']));
    expect(result.stdout).not.toContain(created.client_secret);
    expect(result.stdout).not.toContain('secret');
  });

  it('apps rotate-secret, by argument and by --client-id, prints a new secret each time', async () => {
    const first = await gatehouse('apps', 'rotate-secret', created.client_id);
    expect(first.code).toBe(0);
    const a = oneJson(first.stdout);
    expect(a).toEqual({ client_id: created.client_id, client_secret: expect.stringMatching(/^gh_cs_/) });
    const second = await gatehouse('apps', 'rotate-secret', '--client-id', created.client_id);
    const b = oneJson(second.stdout);
    expect(b.client_secret).not.toBe(a.client_secret);
    expect(b.client_secret).not.toBe(created.client_secret);
    const unknown = await gatehouse('apps', 'rotate-secret', 'no-such-client');
    expect(unknown.code).not.toBe(0);
    expect(oneJson(unknown.stdout).error.code).toBe('not_found');
  });

  it('keeps workspaces list working', async () => {
    const result = await gatehouse('workspaces', 'list');
    expect(result.code).toBe(0);
    expect(oneJson(result.stdout).workspaces).toHaveLength(2);
  });
});
