/**
 * Set-up for the peers' comparison, not measured: one partner app with one
 * grant issued the way "Allow access" issues it, then copies of it made in
 * PostgreSQL with generate_series (codes to redeem, each on its own grant;
 * live grants with an access token each, for the scale measure). Bench
 * secrets are `<prefix><n>`, stored as hashToken stores them (SHA-256,
 * base64url), so the server sees exactly the rows it would have written.
 */
import pg from 'pg';
import { generateToken, hashToken, randomString } from '../../src/crypto/tokens.js';
import type { Capability } from '../../src/oauth/capabilities.js';
import { grantAndIssueCode } from '../../src/oauth/grant-rules.js';
import { openDatabase } from '../../src/store/database.js';
import { createStores } from '../../src/store/stores.js';

export interface BenchPartner {
  clientId: string;
  secret: string;
  redirectUri: string;
  appId: string;
  /** The code's grant, the template every copied grant is made from. */
  grantId: string;
  codeHash: string;
}

/** hashToken in SQL: SHA-256, base64url without padding. */
const HASH = (expression: string) => `rtrim(translate(encode(sha256(convert_to(${expression}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;

export async function seedPartner(databaseUrl: string, issuer: string): Promise<BenchPartner> {
  const handle = await openDatabase({ kind: 'postgres', url: databaseUrl });
  try {
    const stores = createStores(handle.db);
    const clientId = randomString(18);
    const secret = generateToken('gh_cs');
    const redirectUri = 'https://bench.example/cb';
    const capabilities: Capability[] = ['read_content', 'no_user_info'];
    const app = await stores.partnerApps.create(
      {
        clientId,
        clientSecretHash: hashToken(secret),
        name: `Bench partner for ${issuer}`,
        website: null,
        supportContact: null,
        logo: null,
        redirectUris: [redirectUri],
        capabilities,
        builtByOrganisation: false,
        clientType: 'confidential',
        createdBy: null,
      },
      new Date(),
    );
    const [ada] = await stores.people.findByEmail('ada@example.com');
    const acme = (await stores.workspaces.listForPerson(ada!.id)).find((w) => w.name === 'Acme')!;
    const connection = (await stores.connections.findForPersonAndWorkspace(ada!.id, acme.id))!;
    const { code } = await grantAndIssueCode(
      { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: { now: () => new Date() }, codeLifetimeSeconds: 3600 },
      {
        transaction: {
          id: 'bench-peers',
          status: 'signed_in',
          appId: app.id,
          clientId,
          redirectUri,
          redirectUriExplicit: true,
          state: null,
          codeChallenge: null,
          capabilities,
          createdAt: Date.now(),
          picks: { workspaceId: acme.id, pageIds: [] },
        },
        personId: ada!.id,
        personLabel: 'bench',
        workspaceId: acme.id,
        upstreamConnectionId: connection.id,
        pageIds: [],
        address: null,
      },
    );
    const found = (await stores.tokens.findCode(hashToken(code)))!;
    return { clientId, secret, redirectUri, appId: app.id, grantId: found.grantId, codeHash: found.codeHash };
  } finally {
    await handle.close();
  }
}

async function withClient<T>(databaseUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Grants copied from the partner's, each for its own copy of its person (one
 * grant per person, app and workspace), ids derived from `label` and n: the
 * template's rows with only the keys replaced.
 */
async function copyGrants(client: pg.Client, label: string, partner: BenchPartner, from: number, to: number): Promise<void> {
  await client.query(
    `insert into people
      select (jsonb_populate_record(null::people, to_jsonb(p) || jsonb_build_object(
        'id', md5('${label}person' || i)::uuid, 'subject', '${label}' || i))).*
      from grants g join people p on p.id = g.person_id, generate_series($2::int, $3::int - 1) i where g.id = $1`,
    [partner.grantId, from, to],
  );
  // A member of the workspace, as the person who consented is (the grant rules check it on every token operation).
  await client.query(
    `insert into workspace_members
      select (jsonb_populate_record(null::workspace_members, to_jsonb(m) || jsonb_build_object(
        'person_id', md5('${label}person' || i)::uuid))).*
      from grants g join workspace_members m on m.person_id = g.person_id and m.workspace_id = g.workspace_id,
        generate_series($2::int, $3::int - 1) i where g.id = $1`,
    [partner.grantId, from, to],
  );
  await client.query(
    `insert into grants
      select (jsonb_populate_record(null::grants, to_jsonb(g) || jsonb_build_object(
        'id', md5('${label}' || i)::uuid, 'person_id', md5('${label}person' || i)::uuid))).*
      from grants g, generate_series($2::int, $3::int - 1) i where g.id = $1`,
    [partner.grantId, from, to],
  );
}

/** `count` unspent codes, each on its own copy of the partner's grant; next() hands out the next one. */
export async function cloneCodes(databaseUrl: string, partner: BenchPartner, count: number): Promise<{ next: () => string }> {
  await withClient(databaseUrl, async (client) => {
    await client.query('begin');
    await copyGrants(client, 'bench-code-grant-', partner, 0, count);
    await client.query(
      `insert into authorization_codes
        select (jsonb_populate_record(null::authorization_codes, to_jsonb(c) || jsonb_build_object(
          'code_hash', ${HASH(`'gh_code_bench' || i`)}, 'grant_id', md5('bench-code-grant-' || i)::uuid))).*
        from authorization_codes c, generate_series(0, $2::int - 1) i where c.code_hash = $1`,
      [partner.codeHash, count],
    );
    await client.query('commit');
  });
  let n = 0;
  return {
    next: () => {
      if (n >= count) throw new Error(`the bench's ${count} codes are all spent: raise the count in bench/oauth-peers.ts`);
      return `gh_code_bench${n++}`;
    },
  };
}

/**
 * Live grants with one live, already-used access token each, numbered
 * [from, to): token n is `gh_at_bench<n>`. Returns `to`. Loaded in one
 * transaction without waiting for the WAL flush, then vacuumed and analysed.
 */
export async function bulkLoadLiveTokens(databaseUrl: string, partner: BenchPartner, from: number, to: number): Promise<number> {
  await withClient(databaseUrl, async (client) => {
    await client.query('begin');
    await client.query('set local synchronous_commit = off');
    // Rows consistent by construction: foreign-key triggers skipped (the bench connects as a superuser), which was most of the load's time.
    await client.query('set local session_replication_role = replica');
    await copyGrants(client, 'bench-live-grant-', partner, from, to);
    await client.query(
      `insert into access_tokens (token_hash, grant_id, app_id, refresh_token_hash, code_hash, capabilities, expires_at, revoked_at, created_at, first_used_at)
        select ${HASH(`'gh_at_bench' || i`)}, md5('bench-live-grant-' || i)::uuid, $1, null, null, g.capabilities,
          now() + interval '1 day', null, now(), now()
        from grants g, generate_series($3::int, $4::int - 1) i where g.id = $2`,
      [partner.appId, partner.grantId, from, to],
    );
    await client.query('commit');
    // Vacuumed, not only analysed: every loaded row is read once here and marked committed (its hint bits), as rows
    // are in a steady state; otherwise the first read of each row during the measure writes its page too.
    await client.query('vacuum analyze grants');
    await client.query('vacuum analyze access_tokens');
    await client.query('vacuum analyze people');
    // The load's dirty pages written out now, not while the next measure runs.
    await client.query('checkpoint');
  });
  return to;
}

/** PostgreSQL's block counters for the database: blocks found in its buffer cache (hit) and read from outside it. */
export async function bufferCounters(databaseUrl: string): Promise<{ hit: number; read: number }> {
  // Backends report their counters within about a second of finishing a transaction.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ hit: string; read: string }>(
      'select blks_hit as hit, blks_read as read from pg_stat_database where datname = current_database()',
    );
    return { hit: Number(rows[0]!.hit), read: Number(rows[0]!.read) };
  });
}
