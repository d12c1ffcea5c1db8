/**
 * Internal integrations on the wire: the admin API's request and answer
 * schemas, which validate the requests and describe them in openapi.json.
 */
import { z } from 'zod';
import { CAPABILITIES } from '../oauth/capabilities.js';
import { URL_MAX } from './partner-apps.js';

export const newIntegrationBodySchema = z
  .object({
    name: z.string().min(1).max(100),
    workspace_id: z.string().min(1).max(100).describe('A workspace the caller owns; fixed for the life of the integration'),
    capabilities: z.array(z.enum(CAPABILITIES)).min(1).max(CAPABILITIES.length).describe('At most one user-information level'),
    logo_url: z.string().min(1).max(URL_MAX).nullable().optional(),
  })
  .strict();

export const integrationWireSchema = z.object({
  id: z.string(),
  name: z.string(),
  workspace_id: z.string(),
  capabilities: z.array(z.enum(CAPABILITIES)),
  integration_kind: z.literal('internal'),
  logo_url: z.string().nullable(),
  created_at: z.string(),
  pages: z.number().int().optional().describe('How many pages are connected'),
});

export const convertBodySchema = z
  .object({
    redirect_uris: z.array(z.string().min(1).max(URL_MAX)).min(1).max(10),
  })
  .strict();

export const conversionWireSchema = z.object({
  id: z.string(),
  integration_kind: z.literal('public'),
  client_id: z.string(),
  client_secret: z.string().describe('Shown in this answer only'),
  redirect_uris: z.array(z.string()),
  grants: z.array(z.object({ id: z.string(), person_id: z.string(), upstream_connection_id: z.string(), page_ids: z.array(z.string()) })),
});

export const pageConnectionBodySchema = z.object({ integration_id: z.string().min(1).max(100) }).strict();

// The pages' forms (no JavaScript: strings as browsers send them).
export interface FormValues {
  name: string;
  workspaceId: string;
  capabilities: string[];
  logoUrl: string;
}

export const newIntegrationFormSchema = z
  .object({
    _csrf: z.string().optional(),
    name: z.string().max(1000),
    workspace: z.string().max(100),
    capabilities: z.union([z.string(), z.array(z.string()).max(20)]).optional(),
    logo_url: z.string().max(URL_MAX).optional().default(''),
  })
  .strict();

export const convertFormSchema = z.object({ _csrf: z.string().optional(), redirect_uris: z.string().max(25_000) }).strict();
export const addConnectionFormSchema = z
  .object({ _csrf: z.string().optional(), integration: z.string().max(100), q: z.string().max(100).optional() })
  .strict();
