/**
 * Several Gatehouse instances in front of one sandbox Notion on its own port
 * (as production instances share the real Notion): the environment that
 * points an instance at it, and Ada's Acme connection stored as the OAuth
 * callback stores it, without indexing it (ancestry then comes only from
 * Notion or the ancestry cache).
 */
import type { ManualClock } from '../../src/clock.js';
import type { Gatehouse } from '../../src/runtime.js';
import type { UpstreamConnection } from '../../src/store/upstream-connections.js';
import { connectFromTokenAnswer } from '../../src/upstream/connect.js';
import { GATEHOUSE_CLIENT, type RunningSandbox } from '../sandbox-notion/harness.js';
import { testKeys } from './harness.js';

/** One encryption key and the sandbox as Notion: what every instance of one deployment shares. */
export function sharedUpstreamEnv(sandbox: RunningSandbox): Record<string, string> {
  return {
    ...testKeys(),
    GATEHOUSE_NOTION_BASE_URL: sandbox.baseUrl,
    GATEHOUSE_NOTION_CLIENT_ID: GATEHOUSE_CLIENT.clientId,
    GATEHOUSE_NOTION_CLIENT_SECRET: GATEHOUSE_CLIENT.clientSecret,
  };
}

/** Ada signed in and connected Acme; returns her connection and the bot id Notion gave it. */
export async function connectAdaToAcme(
  gatehouse: Gatehouse,
  sandbox: RunningSandbox,
  clock: ManualClock,
): Promise<{ connection: UpstreamConnection; botId: string }> {
  const { stores, keyring, config } = gatehouse;
  const person = await stores.people.upsertFromSignIn(
    { issuer: 'https://idp.test', subject: 'ada', email: 'ada@example.com', emailVerified: true, name: 'Ada Lovelace' },
    clock.now(),
  );
  const answer = await sandbox.sandbox.grantDirect({
    clientId: GATEHOUSE_CLIENT.clientId,
    email: 'ada@example.com',
    workspaceName: 'Acme',
  });
  const upstream = {
    baseUrl: sandbox.baseUrl,
    clientId: GATEHOUSE_CLIENT.clientId,
    clientSecret: GATEHOUSE_CLIENT.clientSecret,
    notionVersion: config.tunables.notionVersion,
    timeoutMs: 10_000,
  };
  const { connection } = await connectFromTokenAnswer(
    {
      upstream,
      keyring,
      connections: stores.connections,
      workspaces: stores.workspaces,
      audit: stores.audit,
      clock,
      requestIndex: () => undefined,
    },
    { person, answer, reconnectWorkspaceId: null, address: null },
  );
  return { connection, botId: answer.bot_id };
}
