/**
 * Rotating the encryption key of stored Notion credentials, on PostgreSQL, as
 * an operator does it: instances restarted on one schema with
 * GATEHOUSE_ENCRYPTION_KEYS "A", then "B,A" (new key first, old still
 * decrypts), `npm run gatehouse -- keys rotate`, then "B" alone. The sandbox
 * Notion's state lives in the shared data folder, so the stored tokens keep
 * working across the restarts. Only organisation admins rotate, and a
 * refused call changes nothing.
 *
 * The instances are started here rather than by the harness because a
 * restart must keep its URL: the sandbox OpenID provider's issuer follows it,
 * and people are keyed by (issuer, subject). The harness picks a new port for
 * each start, which would make Ada a new person after every restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { dropSchema } from '../support/databases.js';
import { listenOnFreePort, POSTGRES_URL, uniqueName } from '../support/harness.js';
import { connectNotion, workspaceRow, workspacesPage } from '../support/notion-connect.js';
import { run } from '../support/processes.js';
import { loadConfig } from '../../src/config.js';
import { startGatehouse, type Gatehouse } from '../../src/runtime.js';
import { DecryptionError, Keyring } from '../../src/crypto/keyring.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { withUpstreamClient } from '../../src/upstream/credentials.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const BEN = { email: 'ben@example.com', password: 'ben-demo' };
const KEY_A = `A:${randomBytes(32).toString('base64')}`;
const KEY_B = `B:${randomBytes(32).toString('base64')}`;

interface Row {
  id: string;
  version: number;
  credential_ciphertext: string | null;
  workspace_id: string;
  person_id: string;
}

describe('encryption key rotation (PostgreSQL)', () => {
  const schema = uniqueName('t');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
  const sessionSecret = randomBytes(32).toString('hex');
  let url = '';
  let g: Gatehouse;
  /** Plaintexts as instance one stored them, by connection id; rotation must keep them. */
  const plaintexts = new Map<string, string>();
  let underA: Row;

  /** One instance on the shared schema, data folder, session secret and URL, with the given GATEHOUSE_ENCRYPTION_KEYS. */
  const start = async (keys: string): Promise<Gatehouse> => {
    let server: http.Server;
    if (url === '') {
      ({ server, url } = await listenOnFreePort());
    } else {
      server = http.createServer();
      await new Promise<void>((resolve) => server.listen(Number(new URL(url).port), '127.0.0.1', () => resolve()));
    }
    const config = loadConfig({
      PORT: new URL(url).port,
      GATEHOUSE_PUBLIC_URL: url,
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      DATABASE_URL: POSTGRES_URL,
      GATEHOUSE_SANDBOX: '1',
      GATEHOUSE_SESSION_SECRET: sessionSecret,
      GATEHOUSE_ENCRYPTION_KEYS: keys,
      GATEHOUSE_ADMIN_EMAILS: ADA.email,
    });
    // The sandbox's webhook subscription would add the intake's token to what is rotated; this suite counts connections.
    return startGatehouse(config, {
      server,
      logger: pino({ level: 'silent' }),
      databaseSchema: schema,
      periodicJobs: false,
      sandboxWebhooks: false,
    });
  };
  const rows = (): Promise<Row[]> =>
    g.database.db
      .selectFrom('upstream_connections')
      .select(['id', 'version', 'credential_ciphertext', 'workspace_id', 'person_id'])
      .orderBy('id')
      .execute();
  const keyIds = async () => (await rows()).map((r) => g.keyring.keyIdOf(r.credential_ciphertext!));
  const aad = (id: string) => `upstream_connection:${id}`;
  const rotations = () => g.stores.audit.list({ action: 'keys.rotated' });
  /** Asks every connection's index again and waits: it reads each stored credential and calls Notion with it. */
  const reindexAll = async () => {
    for (const row of await rows()) g.indexer.request(row.id);
    await g.indexer.idle();
    return Promise.all((await rows()).map((r) => g.stores.connections.findById(r.id)));
  };

  beforeAll(async () => {
    g = await start(KEY_A);
    await g.indexer.idle();
    await g.membership.idle();
  });
  afterAll(async () => {
    await g?.stop();
    await dropSchema(schema);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('with key A alone, every stored credential is encrypted under A and works', async () => {
    const stored = await rows();
    expect(stored).toHaveLength(3); // the demo's: Ada in Acme and Side Project, Ben in Acme
    for (const row of stored) {
      expect(row.credential_ciphertext).toMatch(/^v1\.A\./);
      plaintexts.set(row.id, g.keyring.decrypt(row.credential_ciphertext!, aad(row.id)));
    }
    underA = stored[0]!;
    const connections = await reindexAll();
    expect(connections.map((c) => c!.indexState)).toEqual(['ready', 'ready', 'ready']);
  });

  it('a second instance with keys "B,A" on the same schema still reads the rows under A: indexing works', async () => {
    await g.stop();
    g = await start(`${KEY_B},${KEY_A}`);
    expect(g.keyring.currentKeyId).toBe('B');
    expect(await keyIds()).toEqual(['A', 'A', 'A']); // a restart rewrites nothing
    const calls = g.sandboxNotion!.stats().apiCalls;
    const connections = await reindexAll();
    expect(connections.map((c) => [c!.status, c!.indexState])).toEqual([
      ['active', 'ready'],
      ['active', 'ready'],
      ['active', 'ready'],
    ]);
    expect(connections.every((c) => c!.indexCount > 0)).toBe(true);
    expect(g.sandboxNotion!.stats().apiCalls).toBeGreaterThanOrEqual(calls + 3); // each credential reached Notion
  });

  it('new writes use the first key: Ada connects Archive and its row is under B', async () => {
    const ada = new Browser();
    await signIn(ada, url, ADA.email, ADA.password);
    await g.membership.idle(); // the sync a sign-in starts
    const { status } = await connectNotion(ada, url, { ...ADA, workspaceName: 'Archive' });
    expect(status).toBe(200);
    const archive = (await rows()).find((r) => r.workspace_id === SEED_WORKSPACE_IDS.archive)!;
    expect(g.keyring.keyIdOf(archive.credential_ciphertext!)).toBe('B');
    plaintexts.set(archive.id, g.keyring.decrypt(archive.credential_ciphertext!, aad(archive.id)));
    await g.indexer.idle();
    expect((await workspacesPage(ada, url)).html).toContain('data-index-state="ready"');
  });

  it('rejects callers who are not organisation admins: nothing is re-encrypted, nothing audited', async () => {
    const before = await rows();
    const rotate = `${url}/api/admin/v1/keys/rotate`;

    for (const authorization of [null, `Bearer gh_admin_${randomBytes(32).toString('base64url')}`, 'Bearer short', 'Basic YWRhOmFkYQ==']) {
      const response = await fetch(rotate, {
        method: 'POST',
        headers: { ...(authorization ? { authorization } : {}), accept: 'application/json' },
      });
      expect([authorization, response.status]).toEqual([authorization, 401]);
      expect(await response.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }

    const ben = new Browser();
    const { response: landed } = await signIn(ben, url, BEN.email, BEN.password);
    await g.membership.idle();
    const csrf = csrfTokenOf(await landed.text());
    const asBen = await ben.request(rotate, { method: 'POST', headers: { 'x-csrf-token': csrf, accept: 'application/json' } });
    expect(asBen.status).toBe(403);
    expect(await asBen.json()).toEqual({ error: { code: 'forbidden', message: 'Only organisation admins can do that.' } });
    const withoutCsrf = await ben.request(rotate, { method: 'POST', headers: { accept: 'application/json' } });
    expect(withoutCsrf.status).toBe(403);

    expect(await rows()).toEqual(before);
    expect(await rotations()).toEqual([]);
  });

  it('`npm run gatehouse -- keys rotate` re-encrypts every row under B, keeping each credential', async () => {
    const before = await rows();
    const result = await run('npm', ['run', '--silent', 'gatehouse', '--', 'keys', 'rotate'], {
      GATEHOUSE_URL: url,
      GATEHOUSE_ADMIN_TOKEN: g.adminToken,
    });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ key_id: 'B', reencrypted: 3, already_current: 1, unreadable: [] });

    const after = await rows();
    expect(after.map((r) => g.keyring.keyIdOf(r.credential_ciphertext!))).toEqual(['B', 'B', 'B', 'B']);
    for (const row of after) {
      const old = before.find((b) => b.id === row.id)!;
      const rotated = old.credential_ciphertext!.startsWith('v1.A.');
      // Compare-and-swap on the version: each rewritten row moved on by one, the one already under B did not move.
      expect([row.id, row.version]).toEqual([row.id, old.version + (rotated ? 1 : 0)]);
      expect(g.keyring.decrypt(row.credential_ciphertext!, aad(row.id))).toBe(plaintexts.get(row.id));
    }
    expect(await rotations()).toEqual([
      expect.objectContaining({
        actor: { type: 'admin_token', id: null, label: 'bootstrap admin token' },
        outcome: 'success',
        detail: { keyId: 'B', reencrypted: 3, unreadable: 0 },
      }),
    ]);
  });

  it("rotating again (an admin's session) re-encrypts nothing", async () => {
    const before = await rows();
    const ada = new Browser();
    const { response: landed } = await signIn(ada, url, ADA.email, ADA.password);
    await g.membership.idle();
    const csrf = csrfTokenOf(await landed.text());
    const response = await ada.request(`${url}/api/admin/v1/keys/rotate`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrf, accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ key_id: 'B', reencrypted: 0, already_current: 4, unreadable: [] });
    expect(await rows()).toEqual(before);
    expect((await rotations())[0]).toMatchObject({ actor: { type: 'person', label: ADA.email }, detail: { keyId: 'B', reencrypted: 0 } });
  });

  it('a third instance with key B alone works; a value under A no longer opens', async () => {
    await g.stop();
    g = await start(KEY_B);
    const connections = await reindexAll();
    expect(connections.map((c) => [c!.status, c!.indexState])).toEqual(Array(4).fill(['active', 'ready']));
    for (const row of await rows()) expect(g.keyring.decrypt(row.credential_ciphertext!, aad(row.id))).toBe(plaintexts.get(row.id));
    expect(() => g.keyring.decrypt(underA.credential_ciphertext!, aad(underA.id))).toThrow(
      new DecryptionError('no key with id "A" in GATEHOUSE_ENCRYPTION_KEYS'),
    );
    const ada = new Browser();
    await signIn(ada, url, ADA.email, ADA.password);
    await g.membership.idle();
    const page = await workspacesPage(ada, url);
    expect(workspaceRow(page.html, SEED_WORKSPACE_IDS.acme)).toMatchObject({ state: 'ready', role: 'Owner' });
  });

  it('a tampered ciphertext fails loudly (DecryptionError): never garbage, never sent to Notion', async () => {
    const [victim, other] = await rows();
    const parts = victim!.credential_ciphertext!.split('.');
    const data = Buffer.from(parts[4]!, 'base64url');
    data[0] = data[0]! ^ 0x01;
    const tampered = [...parts.slice(0, 4), data.toString('base64url')].join('.');
    await g.database.db.updateTable('upstream_connections').set({ credential_ciphertext: tampered }).where('id', '=', victim!.id).execute();

    expect(() => g.keyring.decrypt(tampered, aad(victim!.id))).toThrow(DecryptionError);
    expect(() => decryptCredential(g.keyring, tampered, victim!.id)).toThrow('ciphertext failed authentication (tampered, or wrong key)');
    // A genuine value copied into another row does not open there either (bound to its row).
    expect(() => g.keyring.decrypt(other!.credential_ciphertext!, aad(victim!.id))).toThrow(DecryptionError);
    // Nor under a keyring that merely reuses the id "B".
    expect(() => new Keyring([{ id: 'B', key: randomBytes(32) }]).decrypt(other!.credential_ciphertext!, aad(other!.id))).toThrow(
      DecryptionError,
    );

    const connection = (await g.stores.connections.findById(victim!.id))!;
    const deps = {
      upstream: {
        baseUrl: `${url}/sandbox/notion`,
        clientId: 'gatehouse',
        clientSecret: 'unused',
        notionVersion: '2025-09-03',
        timeoutMs: 5000,
      },
      keyring: g.keyring,
      connections: g.stores.connections,
      audit: g.stores.audit,
      clock: { now: () => new Date() },
    };
    const calls = g.sandboxNotion!.stats().apiCalls;
    await expect(withUpstreamClient(deps, connection, (client) => client.users.me({}))).rejects.toBeInstanceOf(DecryptionError);
    g.indexer.request(victim!.id);
    await g.indexer.idle();
    expect(g.sandboxNotion!.stats().apiCalls).toBe(calls);
    expect(await g.stores.connections.findById(victim!.id)).toMatchObject({ indexState: 'failed', credentialCiphertext: tampered });
  });

  it('`keys rotate` reports a value no key opens by id, and still re-encrypts the rest', async () => {
    const [victim, other] = await rows();
    // A row given a value under A, which this instance (B alone) no longer has. (Values under B are not opened:
    // the row tampered with above is left as it is, and shows as "Notion could not be read".)
    await g.database.db
      .updateTable('upstream_connections')
      .set({ credential_ciphertext: underA.credential_ciphertext })
      .where('id', '=', other!.id)
      .execute();
    const result = await run('npm', ['run', '--silent', 'gatehouse', '--', 'keys', 'rotate'], {
      GATEHOUSE_URL: url,
      GATEHOUSE_ADMIN_TOKEN: g.adminToken,
    });
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout.trim()) as { unreadable: Array<{ type: string; id: string }>; already_current: number };
    expect(answer.unreadable).toEqual([{ type: 'upstream_connection', id: other!.id }]);
    expect(answer.already_current).toBe(3);
    expect((await rows()).find((r) => r.id === victim!.id)!.credential_ciphertext!.startsWith('v1.B.')).toBe(true);
    expect((await rotations())[0]).toMatchObject({ outcome: 'failure', detail: { keyId: 'B', reencrypted: 0, unreadable: 1 } });
  });
});
