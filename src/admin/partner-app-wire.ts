/**
 * A partner app on the wire: the admin API's answer and its zod schema (the
 * OpenAPI document's PartnerApp). Never a secret's hash; the secret itself
 * only in the answer that created it.
 */
import { z } from 'zod';
import { CAPABILITIES, type Capability } from '../oauth/capabilities.js';
import type { PartnerAppSummary } from '../store/partner-apps.js';

export interface PartnerAppWire {
  id: string;
  client_id: string | null;
  client_secret?: string;
  name: string;
  redirect_uris: string[];
  capabilities: Capability[];
  client_type: 'confidential' | 'public';
  integration_kind: 'public' | 'internal';
  built_by_organisation: boolean;
  /** `agent`: registered itself (RFC 7591), its name self-asserted; absent for apps an admin registered. */
  client_kind?: 'agent';
  website: string | null;
  support_contact: string | null;
  logo_url: string | null;
  created_at: string;
}

/** The JSON an admin sees: never the secret hash; the secret only when `clientSecret` is given (creation, rotation). */
export function partnerAppToWire(app: PartnerAppSummary, clientSecret: string | null = null): PartnerAppWire {
  return {
    id: app.id,
    client_id: app.clientId,
    ...(clientSecret !== null ? { client_secret: clientSecret } : {}),
    name: app.name,
    redirect_uris: app.redirectUris,
    capabilities: app.capabilities,
    client_type: app.clientType,
    integration_kind: app.integrationKind,
    built_by_organisation: app.builtByOrganisation,
    // Only agents carry it, so the answers partners' tooling already reads keep their shape.
    ...(app.clientKind === 'agent' ? { client_kind: 'agent' as const } : {}),
    website: app.website,
    support_contact: app.supportContact,
    logo_url: app.hasLogo ? logoPath(app.id) : null,
    created_at: app.createdAt.toISOString(),
  };
}

export function logoPath(appId: string): string {
  return `/apps/${appId}/logo`;
}

/** JSON Schemas of the answers, for the OpenAPI document. */
export const partnerAppWireSchema = z.object({
  id: z.string().describe('UUID; the logo is at /apps/{id}/logo'),
  client_id: z.string().nullable().describe('base64url characters'),
  client_secret: z.string().optional().describe('Confidential clients, once: in the creation answer only'),
  name: z.string(),
  redirect_uris: z.array(z.string()),
  capabilities: z.array(z.enum(CAPABILITIES)),
  client_type: z.enum(['confidential', 'public']),
  integration_kind: z.enum(['public', 'internal']),
  built_by_organisation: z.boolean(),
  client_kind: z.literal('agent').optional().describe('Present for AI agents that registered themselves (RFC 7591)'),
  website: z.string().nullable(),
  support_contact: z.string().nullable(),
  logo_url: z.string().nullable().describe('/apps/{id}/logo, served by Gatehouse'),
  created_at: z.string().describe('ISO 8601 time'),
});

export const rotatedSecretSchema = z.object({ client_id: z.string(), client_secret: z.string() });
