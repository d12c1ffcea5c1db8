/**
 * POST /v1/oauth/register (RFC 7591): AI agents that nobody registered by
 * hand register themselves. The checks, in the RFC's order (§2, §3.2.2):
 *
 *   address under its limit ─▶ metadata an object ─▶ redirect URIs (https, or http on loopback; no fragment)
 *     ─▶ public client only (token_endpoint_auth_method "none") ─▶ grant and response types we serve
 *     ─▶ scope of known capabilities ─▶ create the partner app (client_kind "agent") and audit it
 *
 * Such a client is a partner app of kind `agent`: public (no secret, so
 * PKCE S256 is required at authorisation), never built by the organisation
 * (never auto-approved), its name self-asserted (the consent screen says so).
 * Unknown metadata fields are ignored, as RFC 7591 §2 requires: the one
 * exception to strict schemas.
 */
import type { Request } from 'express';
import { randomString } from '../crypto/tokens.js';
import type { Clock } from '../clock.js';
import type { AgentClientStore } from '../store/agent-clients.js';
import type { AuditStore } from '../store/audit.js';
import type { PartnerAppStore } from '../store/partner-apps.js';
import { CAPABILITIES, normaliseCapabilities, toScope, type Capability, isCapability } from './capabilities.js';
import { OAuthError, RateLimited } from './errors.js';
import type { FailureLimiter } from './failure-limiter.js';

export interface RegistrationDeps {
  partnerApps: Pick<PartnerAppStore, 'create'>;
  audit: AuditStore;
  clock: Clock;
  limiter: FailureLimiter;
  /** Registrations per address within the limiter's window. */
  registrationsPerWindow: number;
}

/** RFC 7591 §3.2.2's two codes. */
export class InvalidClientMetadata extends OAuthError {
  constructor(message: string) {
    super('invalid_client_metadata', 400, message);
  }
}
export class InvalidRedirectUri extends OAuthError {
  constructor(message: string) {
    super('invalid_redirect_uri', 400, message);
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const SERVED_GRANTS = ['authorization_code', 'refresh_token'];

export async function requireUnderLimit(deps: RegistrationDeps, address: string | null): Promise<void> {
  const keys = [{ key: `register:${address ?? 'unknown'}`, limit: deps.registrationsPerWindow }];
  const wait = await deps.limiter.blockedFor(keys);
  if (wait !== null) throw new RateLimited(wait);
  // Every attempt counts, accepted or not: registration is what is limited, not only failures.
  await deps.limiter.recordFailure(keys);
}

/** https, or http on a loopback host (RFC 8252 §7.3); exact strings are matched later, so no fragment. */
export function requireRedirectUris(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 10)
    throw new InvalidRedirectUri('redirect_uris must list one to ten URIs.');
  return value.map((uri) => {
    if (typeof uri !== 'string' || uri.length > 2000) throw new InvalidRedirectUri('Each redirect URI must be a string.');
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InvalidRedirectUri('A redirect URI is not an absolute URL.');
    }
    if (url.hash !== '' || uri.includes('#')) throw new InvalidRedirectUri('A redirect URI must not carry a fragment.');
    if (url.username || url.password) throw new InvalidRedirectUri('A redirect URI must not carry credentials.');
    if (url.protocol === 'https:') return uri;
    if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return uri;
    throw new InvalidRedirectUri('Redirect URIs must be https, or http on localhost or 127.0.0.1.');
  });
}

export function requirePublicClient(method: unknown): void {
  if (method !== undefined && method !== 'none')
    throw new InvalidClientMetadata('Only public clients register here: token_endpoint_auth_method must be "none".');
}

export function requireServedTypes(grantTypes: unknown, responseTypes: unknown): void {
  if (grantTypes !== undefined && (!Array.isArray(grantTypes) || grantTypes.some((g) => !SERVED_GRANTS.includes(g as string))))
    throw new InvalidClientMetadata('grant_types may name only authorization_code and refresh_token.');
  if (responseTypes !== undefined && (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== 'code')))
    throw new InvalidClientMetadata('response_types may name only code.');
}

/** The capabilities the agent may ever ask for: those named, else all (the person still chooses on consent). */
export function registeredCapabilities(scope: unknown): Capability[] {
  if (scope === undefined) return normaliseCapabilities([...CAPABILITIES]);
  if (typeof scope !== 'string') throw new InvalidClientMetadata('scope must be a string of capability names.');
  const names = scope.split(' ').filter(Boolean);
  const unknown = names.find((n) => !isCapability(n));
  if (unknown !== undefined) throw new InvalidClientMetadata(`scope names an unknown capability "${unknown.slice(0, 40)}".`);
  return normaliseCapabilities(names as Capability[]);
}

function clientName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') return 'Unnamed agent';
  return value
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 100);
}

export async function registerClient(deps: RegistrationDeps, req: Request): Promise<Record<string, unknown>> {
  const address = req.ip ?? null;
  await requireUnderLimit(deps, address);
  const body: unknown = req.body;
  if (!/^application\/json\b/i.test(req.get('Content-Type') ?? '') || typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidClientMetadata('Send the client metadata as a JSON object.');
  const metadata = body as Record<string, unknown>;
  const redirectUris = requireRedirectUris(metadata.redirect_uris);
  requirePublicClient(metadata.token_endpoint_auth_method);
  requireServedTypes(metadata.grant_types, metadata.response_types);
  const capabilities = registeredCapabilities(metadata.scope);
  const name = clientName(metadata.client_name);

  const now = deps.clock.now();
  const clientId = `agent_${randomString(24)}`;
  const app = await deps.partnerApps.create(
    {
      clientId,
      clientSecretHash: null,
      name,
      website: null,
      supportContact: null,
      logo: null,
      redirectUris,
      capabilities,
      builtByOrganisation: false,
      clientType: 'public',
      createdBy: null,
      clientKind: 'agent',
    },
    now,
  );
  await deps.audit.record(
    {
      action: 'client.registered',
      actor: { type: 'partner', id: app.id, label: name },
      target: { type: 'partner_app', id: app.id },
      workspaceId: null,
      address,
      outcome: 'success',
      detail: { clientKind: 'agent', redirectHosts: [...new Set(redirectUris.map((u) => new URL(u).host))] },
    },
    now,
  );
  return {
    client_id: clientId,
    client_id_issued_at: Math.floor(now.getTime() / 1000),
    client_name: name,
    redirect_uris: redirectUris,
    grant_types: SERVED_GRANTS,
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope: toScope(capabilities),
  };
}

/** A registration that got no grant within this long is deleted: every registration is a new client id. */
export const UNUSED_REGISTRATION_MS = 86_400_000;

/** Deletes self-registered agents with no grant a day after they registered, each audited. */
export async function sweepUnusedRegistrations(deps: {
  agentClients: Pick<AgentClientStore, 'deleteUnused'>;
  audit: AuditStore;
  clock: Clock;
}): Promise<number> {
  const now = deps.clock.now();
  const deleted = await deps.agentClients.deleteUnused(new Date(now.getTime() - UNUSED_REGISTRATION_MS));
  for (const app of deleted)
    await deps.audit.record(
      {
        action: 'client.unused_deleted',
        actor: { type: 'system' },
        target: { type: 'partner_app', id: app.id },
        workspaceId: null,
        address: null,
        outcome: 'success',
        detail: { name: app.name, clientId: app.clientId?.slice(0, 300) ?? null },
      },
      now,
    );
  return deleted.length;
}
