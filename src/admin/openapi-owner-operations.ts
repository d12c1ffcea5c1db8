/**
 * OpenAPI operations for internal integrations, from the zod schemas that
 * validate those requests (spread into ./openapi.ts).
 */
import { z } from 'zod';
import {
  conversionWireSchema,
  convertBodySchema,
  integrationWireSchema,
  newIntegrationBodySchema,
  pageConnectionBodySchema,
} from './internal-integration-routes.js';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return rest;
}

export function ownerOperationSchemas(): Record<string, unknown> {
  return {
    NewInternalIntegration: jsonSchema(newIntegrationBodySchema, 'input'),
    InternalIntegration: jsonSchema(integrationWireSchema, 'output'),
    ConvertToPublic: jsonSchema(convertBodySchema, 'input'),
    Conversion: jsonSchema(conversionWireSchema, 'output'),
    PageConnection: jsonSchema(pageConnectionBodySchema, 'input'),
  };
}

export function ownerOperationPaths(errors: Record<number, unknown>): Record<string, unknown> {
  const error = { $ref: '#/components/schemas/Error' };
  const ref = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });
  const notFound = {
    404: { description: 'No such integration, page or workspace for this caller', content: { 'application/json': { schema: error } } },
  };
  const bad = { 400: { description: 'Bad input; nothing stored', content: { 'application/json': { schema: error } } } };
  const path = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
  return {
    '/integrations': {
      get: {
        summary: 'Internal integrations of the workspaces the caller owns',
        responses: {
          200: {
            description: 'A list',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    object: { const: 'list' },
                    integrations: { type: 'array', items: { $ref: '#/components/schemas/InternalIntegration' } },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
      post: {
        summary: 'New integration (owners of the workspace); the token is read with /integrations/{id}/token',
        requestBody: { required: true, content: ref('NewInternalIntegration') },
        responses: { 201: { description: 'Created', content: ref('InternalIntegration') }, ...bad, ...errors, ...notFound },
      },
    },
    '/integrations/{integration_id}': {
      get: {
        summary: 'One internal integration and its connected pages',
        parameters: [path('integration_id')],
        responses: { 200: { description: 'The integration' }, ...errors, ...notFound },
      },
    },
    '/integrations/{integration_id}/token': {
      post: {
        summary: 'Copy internal integration token (owners); every retrieval is an audit event',
        parameters: [path('integration_id')],
        responses: { 200: { description: '{ id, token }' }, ...errors, ...notFound },
      },
    },
    '/integrations/{integration_id}/convert': {
      post: {
        summary:
          "Convert to public: a client id, a secret (this answer only), redirect URIs; connected pages become the connecting owner's grant",
        parameters: [path('integration_id')],
        requestBody: { required: true, content: ref('ConvertToPublic') },
        responses: { 200: { description: 'Converted', content: ref('Conversion') }, ...bad, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/pages/{page_id}/connections': {
      post: {
        summary: "Add connections: connect an internal integration to a page of the caller's own page index",
        parameters: [path('workspace_id'), path('page_id')],
        requestBody: { required: true, content: ref('PageConnection') },
        responses: {
          200: { description: 'Already connected' },
          201: { description: 'Connected' },
          ...bad,
          ...errors,
          ...notFound,
          409: {
            description: 'No upstream connection, or the integration reaches its pages through another owner',
            content: { 'application/json': { schema: error } },
          },
        },
      },
    },
    '/workspaces/{workspace_id}/pages/{page_id}/connections/{integration_id}': {
      delete: {
        summary: 'Disconnect an internal integration from a page (idempotent)',
        parameters: [path('workspace_id'), path('page_id'), path('integration_id')],
        responses: { 200: { description: '{ removed }' }, ...errors, ...notFound },
      },
    },
  };
}
