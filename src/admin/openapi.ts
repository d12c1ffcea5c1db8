import { z } from 'zod';
import { partnerAppWireSchema, registrationBodySchema, rotatedSecretSchema } from './partner-apps.js';

/** A zod schema as an OpenAPI 3.1 (JSON Schema 2020-12) component. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return rest;
}

/** The admin API's description (public, DESIGN.md). Later issues add their operations here. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const error = { $ref: '#/components/schemas/Error' };
  const errors = { 401: { description: 'Not signed in, or no valid admin token', content: { 'application/json': { schema: error } } }, 403: { description: 'Not allowed', content: { 'application/json': { schema: error } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version: '1' },
    servers: [{ url: `${publicUrl}/api/admin/v1` }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'gatehouse.sid' } },
      schemas: {
        NewPartnerApp: jsonSchema(registrationBodySchema, 'input'),
        PartnerApp: jsonSchema(partnerAppWireSchema, 'output'),
        RotatedSecret: jsonSchema(rotatedSecretSchema, 'output'),
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
      },
    },
    security: [{ adminToken: [] }, { session: [] }],
    paths: {
      '/workspaces': { get: { summary: 'Workspaces the caller may see (all, for organisation admins)', responses: { 200: { description: 'A list of workspaces' }, ...errors } } },
      '/apps': {
        get: {
          summary: 'Every partner app (organisation admins); never secrets or their hashes',
          responses: { 200: { description: 'A list of partner apps', content: { 'application/json': { schema: { type: 'object', required: ['object', 'apps'], properties: { object: { const: 'list' }, apps: { type: 'array', items: { $ref: '#/components/schemas/PartnerApp' } } } } } } }, ...errors },
        },
        post: {
          summary: 'Register a partner app (organisation admins); a confidential client gets its secret in this answer only',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewPartnerApp' } } } },
          responses: {
            201: { description: 'Registered; client_secret present for confidential clients, once', content: { 'application/json': { schema: { $ref: '#/components/schemas/PartnerApp' } } } },
            400: { description: 'Bad input (nothing stored), including a refused logo', content: { 'application/json': { schema: error } } },
            ...errors,
          },
        },
      },
      '/apps/{client_id}/rotate-secret': {
        post: {
          summary: 'Replace a confidential client\'s secret (organisation admins); the old one stops working at once',
          parameters: [{ name: 'client_id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'The new secret, shown once', content: { 'application/json': { schema: { $ref: '#/components/schemas/RotatedSecret' } } } },
            400: { description: 'A public client has no secret', content: { 'application/json': { schema: error } } },
            404: { description: 'No app with this client id', content: { 'application/json': { schema: error } } },
            ...errors,
          },
        },
      },
      '/keys/rotate': { post: { summary: 'Re-encrypt every stored credential under the current key (organisation admins)', responses: { 200: { description: 'How many values were re-encrypted' }, ...errors } } },
    },
  };
}
