/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
 * as the MCP authorization rules of 2025-11-25 use them): an agent's
 * client_id is an https URL, and the document at that URL is its registration.
 *
 *   client_id an https URL with a path ─▶ host resolves to public addresses only
 *     ─▶ GET pinned to that address, no redirects, 5 s, at most 5 KB, JSON
 *     ─▶ client_id in the document equals the URL ─▶ redirect URIs, public client,
 *        served types, scope (the RFC 7591 checks of ./register.ts)
 *     ─▶ the partner app of kind `agent` created or updated, cached per HTTP caching
 *
 * The fetch follows the logo fetcher's SSRF rules (src/admin/logo.ts): the
 * same public-address check, the socket pinned to the vetted address so a DNS
 * rebind cannot switch it, TLS still checked against the host name.
 */
import dns from 'node:dns';
import https from 'node:https';
import net from 'node:net';
import type { LookupFunction } from 'node:net';
import { isPublicAddress } from '../admin/logo.js';
import type { Clock } from '../clock.js';
import type { AuditStore } from '../store/audit.js';
import type { AgentClientStore } from '../store/agent-clients.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import { registeredCapabilities, requirePublicClient, requireRedirectUris, requireServedTypes } from './register.js';
import { OAuthError } from './errors.js';

export const DOCUMENT_MAX_BYTES = 5 * 1024;
export const DOCUMENT_TIMEOUT_MS = 5_000;
/** HTTP caching within bounds: never refetched more than once a minute, never trusted for over a day. */
export const CACHE_MIN_SECONDS = 60;
export const CACHE_MAX_SECONDS = 86_400;
const CACHE_DEFAULT_SECONDS = 3_600;
const CACHE_ENTRIES = 1_000;

/** Why a document was refused: shown on the authorisation error page. */
export class ClientDocumentError extends Error {
  constructor(message: string) {
    super(`This agent's client metadata document was refused: ${message}`);
    this.name = 'ClientDocumentError';
  }
}

export interface FetchedDocument {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  expires: string | null;
  body: Buffer;
}

export interface DocumentFetchOptions {
  /** Test only: a CA for the local https server. */
  ca?: string | Buffer;
  /** Test only: the local https server lives on loopback, which the rules refuse otherwise. */
  allowPrivateAddresses?: boolean;
  resolve?: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  timeoutMs?: number;
  maxBytes?: number;
}

/** A client_id that names a document: https and a path (a bare origin names nothing). */
export function isDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://');
}

export function requireDocumentUrl(clientId: string): URL {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    throw new ClientDocumentError('the client_id is not a URL.');
  }
  if (url.protocol !== 'https:') throw new ClientDocumentError('the client_id URL must use https.');
  if (url.username || url.password) throw new ClientDocumentError('the client_id URL must not carry credentials.');
  if (clientId.includes('#')) throw new ClientDocumentError('the client_id URL must not carry a fragment.');
  if (url.pathname === '/' || /\/\.\.?(\/|$)/.test(clientId.split('?')[0]!.slice(8)))
    throw new ClientDocumentError('the client_id URL must have a path without dot segments.');
  return url;
}

/** One GET, following the SSRF rules above; redirects and oversize bodies are refusals, not followed or truncated. */
export async function fetchDocument(url: URL, options: DocumentFetchOptions = {}): Promise<FetchedDocument> {
  const timeoutMs = options.timeoutMs ?? DOCUMENT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DOCUMENT_MAX_BYTES;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: Array<{ address: string; family: 4 | 6 }>;
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await (options.resolve ?? systemResolve)(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) throw new ClientDocumentError(`its host "${host.slice(0, 100)}" does not resolve.`);
  }
  if (!options.allowPrivateAddresses && addresses.some((a) => !isPublicAddress(a.address)))
    throw new ClientDocumentError('its URL leads to a private, loopback or otherwise non-public address.');
  const { address, family } = addresses[0]!;
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all)
      (callback as (err: null, all: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      reject(new ClientDocumentError(message));
    };
    const request = https.request(
      url,
      { method: 'GET', lookup: pinned, agent: false, ca: options.ca, headers: { accept: 'application/json', 'user-agent': 'Gatehouse' } },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) return fail('its URL redirects; Gatehouse does not follow redirects.');
        if (status !== 200) return fail(`its server answered ${status}.`);
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) return fail(`it is larger than ${maxBytes / 1024} KB.`);
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return fail(`it is larger than ${maxBytes / 1024} KB.`);
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const header = (name: string) => (response.headers[name] as string | undefined) ?? null;
          resolve({
            status,
            contentType: header('content-type'),
            cacheControl: header('cache-control'),
            expires: header('expires'),
            body: Buffer.concat(chunks),
          });
        });
        response.on('error', () => fail('the download was interrupted.'));
      },
    );
    const deadline = setTimeout(() => fail(`its server did not answer within ${timeoutMs / 1000} s.`), timeoutMs);
    request.on('error', (err: NodeJS.ErrnoException) =>
      fail(
        /certificate|self.signed|CERT_|SSL|TLS/i.test(`${err.code ?? ''} ${err.message}`)
          ? 'its TLS certificate is not valid.'
          : 'the connection failed.',
      ),
    );
    request.end();
  });
}

async function systemResolve(hostname: string): Promise<Array<{ address: string; family: 4 | 6 }>> {
  const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

export interface ValidDocument {
  name: string;
  website: string | null;
  redirectUris: string[];
  capabilities: ReturnType<typeof registeredCapabilities>;
}

/** The draft's rules plus RFC 7591's: the document names itself, is a public client, and says where to return. */
export function validateDocument(clientId: string, fetched: FetchedDocument): ValidDocument {
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(fetched.contentType ?? '')) throw new ClientDocumentError('it is not served as JSON.');
  let doc: unknown;
  try {
    doc = JSON.parse(fetched.body.toString('utf8'));
  } catch {
    throw new ClientDocumentError('it is not valid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ClientDocumentError('it is not a JSON object.');
  const metadata = doc as Record<string, unknown>;
  if (metadata.client_id !== clientId) throw new ClientDocumentError('its client_id is not the URL it was fetched from.');
  // A document is public: a shared secret in it would be no secret.
  if ('client_secret' in metadata || 'client_secret_expires_at' in metadata)
    throw new ClientDocumentError('it carries a client secret, which a public document must not.');
  try {
    const redirectUris = requireRedirectUris(metadata.redirect_uris);
    requirePublicClient(metadata.token_endpoint_auth_method);
    requireServedTypes(metadata.grant_types, metadata.response_types);
    const capabilities = registeredCapabilities(metadata.scope);
    if (metadata.client_name !== undefined && typeof metadata.client_name !== 'string')
      throw new ClientDocumentError('client_name must be a string.');
    const name =
      (metadata.client_name ?? '')
        .replace(/[\u0000-\u001f\u007f]/g, '')
        .trim()
        .slice(0, 100) || new URL(clientId).host;
    const website =
      typeof metadata.client_uri === 'string' && metadata.client_uri.startsWith('https://') ? metadata.client_uri.slice(0, 2000) : null;
    return { name, website, redirectUris, capabilities };
  } catch (err) {
    if (err instanceof OAuthError) throw new ClientDocumentError(err.message);
    throw err;
  }
}

/** Seconds the document may be reused: Cache-Control max-age (or Expires), within bounds; no-store is never reused. */
export function freshnessSeconds(fetched: Pick<FetchedDocument, 'cacheControl' | 'expires'>, now: Date): number {
  const directives = (fetched.cacheControl ?? '').toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)\b/.test(directives)) return 0;
  const maxAge = /(?:^|[\s,])max-age\s*=\s*"?(\d+)/.exec(directives);
  let seconds = CACHE_DEFAULT_SECONDS;
  if (maxAge) seconds = Number(maxAge[1]);
  else if (fetched.expires) {
    const at = Date.parse(fetched.expires);
    seconds = Number.isNaN(at) ? 0 : Math.floor((at - now.getTime()) / 1000);
  }
  return Math.min(CACHE_MAX_SECONDS, Math.max(CACHE_MIN_SECONDS, seconds));
}

export interface DocumentClientDeps {
  partnerApps: PartnerAppStore;
  agentClients: Pick<AgentClientStore, 'upsertFromDocument'>;
  audit: AuditStore;
  clock: Clock;
  fetch?: DocumentFetchOptions;
}

/**
 * The partner-app store the authorisation endpoint reads: an https client_id
 * is resolved through its document (fetched when not cached), anything else
 * as before. A refused document throws ClientDocumentError.
 */
export function withClientMetadataDocuments(deps: DocumentClientDeps): PartnerAppStore {
  const cache = new Map<string, { until: number }>();
  const resolveDocument = async (clientId: string): Promise<PartnerApp | null> => {
    const now = deps.clock.now();
    const cached = cache.get(clientId);
    if (cached && cached.until > now.getTime()) return deps.partnerApps.findByClientId(clientId);
    const url = requireDocumentUrl(clientId);
    const fetched = await fetchDocument(url, deps.fetch);
    const valid = validateDocument(clientId, fetched);
    const { id, created } = await deps.agentClients.upsertFromDocument({ clientId, ...valid }, now);
    const seconds = freshnessSeconds(fetched, now);
    cache.delete(clientId);
    if (seconds > 0) {
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(clientId, { until: now.getTime() + seconds * 1000 });
    }
    if (created)
      await deps.audit.record(
        {
          action: 'client.metadata_document_fetched',
          actor: { type: 'system', id: null },
          target: { type: 'partner_app', id },
          workspaceId: null,
          address: null,
          outcome: 'success',
          detail: { clientId: clientId.slice(0, 300), redirectHosts: [...new Set(valid.redirectUris.map((u) => new URL(u).host))] },
        },
        now,
      );
    return deps.partnerApps.findById(id);
  };
  return {
    ...deps.partnerApps,
    findByClientId: (clientId) => (isDocumentClientId(clientId) ? resolveDocument(clientId) : deps.partnerApps.findByClientId(clientId)),
  };
}
