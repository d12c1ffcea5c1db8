/**
 * Using a person's upstream credential, refreshing it when Notion says it
 * expired. Notion rotates refresh tokens, so two refreshes at once would lose
 * the credential. One refresh per credential, everywhere:
 *
 *   401 ─▶ single-flight in this process ─▶ re-read: version moved? use theirs
 *                                          └▶ refresh lock (refresh-lock.ts) taken?
 *                                               yes: re-read, refresh, store by CAS on version, release
 *                                               no:  poll the version until the holder stores (or leaves)
 *
 * On invalid_grant the credential is re-read before the connection is
 * declared broken (someone may have rotated it meanwhile).
 */
import { APIErrorCode, isNotionClientError, type Client } from '@notionhq/client';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { AuditStore } from '../store/audit.js';
import type { UpstreamConnection, UpstreamConnectionStore } from '../store/upstream-connections.js';
import { decryptCredential, encryptCredential } from './connect.js';
import { notionClient, type NotionUpstream } from './notion.js';
import type { RefreshLock } from './refresh-lock.js';

export class ConnectionBroken extends Error {
  constructor(readonly connectionId: string) {
    super('The Notion connection no longer works; its person must reconnect it.');
    this.name = 'ConnectionBroken';
  }
}

export interface CredentialDeps {
  upstream: NotionUpstream;
  keyring: Keyring;
  connections: UpstreamConnectionStore;
  audit: AuditStore;
  clock: Clock;
  /** Cross-instance refresh lock; unset (embedded: one process), the in-process single-flight is the lock. */
  refreshLock?: RefreshLock;
  /** How often a waiter re-reads the connection while another instance refreshes, and for how long at most. */
  refreshPollMs?: number;
  refreshWaitMs?: number;
  /** Clients built once per stored credential (the gateway's); unset, one is built per call. */
  clients?: UpstreamClients;
}

/**
 * Notion clients kept per connection and credential as stored: decrypting
 * the credential and building a client depend only on the stored ciphertext,
 * so they are done when it changes, not on every call. The row is still read
 * on every call and its status checked before a client is used;
 * a refresh stores a new ciphertext, which replaces the connection's client,
 * and a broken connection's clients are dropped. Bounded: the least recently
 * used go first.
 */
export interface UpstreamClients {
  clientFor(upstream: NotionUpstream, connectionId: string, ciphertext: string, accessToken: () => string): Client;
  forget(connectionId: string): void;
}

export function upstreamClients(maxEntries = 1000): UpstreamClients {
  const entries = new Map<string, { connectionId: string; ciphertext: string; client: Client }>();
  return {
    clientFor(upstream, connectionId, ciphertext, accessToken) {
      const key = [connectionId, upstream.baseUrl, upstream.notionVersion, upstream.timeoutMs].join('\n');
      const known = entries.get(key);
      entries.delete(key);
      const entry = known?.ciphertext === ciphertext ? known : { connectionId, ciphertext, client: notionClient(upstream, accessToken()) };
      entries.set(key, entry);
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return entry.client;
    },
    forget(connectionId) {
      for (const [key, entry] of entries) if (entry.connectionId === connectionId) entries.delete(key);
    },
  };
}

function isUnauthorized(err: unknown): boolean {
  return isNotionClientError(err) && err.code === APIErrorCode.Unauthorized;
}

export async function withUpstreamClient<T>(
  deps: CredentialDeps,
  connection: UpstreamConnection,
  call: (client: Client) => Promise<T>,
): Promise<T> {
  const ciphertext = connection.credentialCiphertext;
  if (connection.status !== 'active' || !ciphertext) {
    deps.clients?.forget(connection.id);
    throw new ConnectionBroken(connection.id);
  }
  const accessToken = () => decryptCredential(deps.keyring, ciphertext, connection.id).accessToken;
  const client = deps.clients
    ? deps.clients.clientFor(deps.upstream, connection.id, ciphertext, accessToken)
    : notionClient(deps.upstream, accessToken());
  try {
    return await call(client);
  } catch (err) {
    if (!isUnauthorized(err)) throw err;
    const fresh = await refreshCredential(deps, connection);
    return call(notionClient(deps.upstream, fresh));
  }
}

/**
 * Refreshes in flight in this process, per connection store and connection:
 * callers that meet the same expired token at once (the indexer and a
 * sign-in's membership sync) share one refresh. Two refreshes would present
 * the same rotating refresh token twice; the second is refused (invalid_grant)
 * and, if it lands before the first one's compare-and-swap, would mark a
 * working connection broken.
 */
const inFlight = new WeakMap<UpstreamConnectionStore, Map<string, Promise<string>>>();

/** Returns a working access token after one refresh (ours, or one already running or just won by a concurrent caller). */
function refreshCredential(deps: CredentialDeps, connection: UpstreamConnection): Promise<string> {
  let running = inFlight.get(deps.connections);
  if (!running) inFlight.set(deps.connections, (running = new Map()));
  const pending = running.get(connection.id);
  if (pending) return pending;
  const refresh = refreshAcrossInstances(deps, connection).finally(() => running.delete(connection.id));
  running.set(connection.id, refresh);
  return refresh;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Refresh under the lock, or wait for the holder's result: never a second refresh of the same version. */
async function refreshAcrossInstances(deps: CredentialDeps, connection: UpstreamConnection): Promise<string> {
  if (!deps.refreshLock) return refreshOnce(deps, connection);
  const pollMs = deps.refreshPollMs ?? 50;
  const deadline = Date.now() + (deps.refreshWaitMs ?? 30_000);
  for (;;) {
    const current = await deps.connections.findById(connection.id);
    if (!current || current.status !== 'active' || !current.credentialCiphertext) throw new ConnectionBroken(connection.id);
    // The holder stored a new credential: use it.
    if (current.version !== connection.version)
      return decryptCredential(deps.keyring, current.credentialCiphertext, current.id).accessToken;
    const lease = await deps.refreshLock.tryAcquire(connection.id);
    if (lease) {
      try {
        // refreshOnce re-reads under the lock: a holder may have stored and released between our read and our lock.
        return await refreshOnce(deps, connection);
      } finally {
        await lease.release().catch(() => undefined);
      }
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for the refresh of upstream connection ${connection.id}`);
    await delay(pollMs);
  }
}

async function refreshOnce(deps: CredentialDeps, connection: UpstreamConnection): Promise<string> {
  const current = await deps.connections.findById(connection.id);
  if (!current || current.status !== 'active' || !current.credentialCiphertext) throw new ConnectionBroken(connection.id);
  // Someone refreshed since we read it: use theirs.
  if (current.version !== connection.version) return decryptCredential(deps.keyring, current.credentialCiphertext, current.id).accessToken;
  const credential = decryptCredential(deps.keyring, current.credentialCiphertext, current.id);
  if (!credential.refreshToken) return markBroken(deps, current, 'unauthorized without refresh token');
  try {
    const answer = await notionClient(deps.upstream).oauth.token({
      grant_type: 'refresh_token',
      refresh_token: credential.refreshToken,
      client_id: deps.upstream.clientId,
      client_secret: deps.upstream.clientSecret,
    });
    const next = { accessToken: answer.access_token, refreshToken: answer.refresh_token ?? credential.refreshToken };
    const swapped = await deps.connections.replaceCredential(
      current.id,
      current.version,
      encryptCredential(deps.keyring, next, current.id),
      deps.clock.now(),
    );
    if (swapped) return next.accessToken;
    const winner = await deps.connections.findById(current.id);
    if (winner?.credentialCiphertext && winner.status === 'active')
      return decryptCredential(deps.keyring, winner.credentialCiphertext, winner.id).accessToken;
    throw new ConnectionBroken(current.id);
  } catch (err) {
    if (err instanceof ConnectionBroken) throw err;
    if (isNotionClientError(err) && 'status' in err && err.status === 400) {
      // invalid_grant: another refresher may have rotated it; re-read before declaring it broken.
      const again = await deps.connections.findById(current.id);
      if (again?.credentialCiphertext && again.version !== current.version && again.status === 'active') {
        return decryptCredential(deps.keyring, again.credentialCiphertext, again.id).accessToken;
      }
      return markBroken(deps, current, 'refresh token refused');
    }
    throw err;
  }
}

async function markBroken(deps: CredentialDeps, connection: UpstreamConnection, reason: string): Promise<never> {
  const now = deps.clock.now();
  if (await deps.connections.setStatus(connection.id, 'broken', now)) {
    await deps.audit.record(
      {
        action: 'upstream_connection.broken',
        actor: { type: 'system' },
        target: { type: 'upstream_connection', id: connection.id },
        workspaceId: connection.workspaceId,
        outcome: 'failure',
        detail: { reason },
      },
      now,
    );
  }
  throw new ConnectionBroken(connection.id);
}
