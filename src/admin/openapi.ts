import { z } from 'zod';
import { ownerOperationPaths, ownerOperationSchemas } from './openapi-owner-operations.js';
import { deliveryOperationPaths, deliveryOperationSchemas } from '../webhooks/delivery-openapi.js';
import { partnerAppWireSchema, registrationBodySchema, rotatedSecretSchema } from './partner-apps.js';
import {
  approvedBodySchema,
  grantWireSchema,
  policyBodySchema,
  policyWireSchema,
  revocationWireSchema,
  revokeBodySchema,
  roleBodySchema,
} from './console-routes.js';
import { subscriptionPaths, subscriptionSchemas } from '../webhooks/subscription-openapi.js';

/** A zod schema as an OpenAPI 3.1 (JSON Schema 2020-12) component. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return rest;
}

/** The admin API's description (public). Each area adds its operations here. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const error = { $ref: '#/components/schemas/Error' };
  const errors = {
    401: { description: 'Not signed in, or no valid admin token', content: { 'application/json': { schema: error } } },
    403: { description: 'Not allowed', content: { 'application/json': { schema: error } } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version: '1' },
    servers: [{ url: `${publicUrl}/api/admin/v1` }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'gatehouse.sid' } },
      schemas: {
        ...ownerOperationSchemas(),
        ...subscriptionSchemas(),
        ...deliveryOperationSchemas(),
        NewPartnerApp: jsonSchema(registrationBodySchema, 'input'),
        PartnerApp: jsonSchema(partnerAppWireSchema, 'output'),
        RotatedSecret: jsonSchema(rotatedSecretSchema, 'output'),
        Grant: jsonSchema(grantWireSchema, 'output'),
        Revocation: jsonSchema(revocationWireSchema, 'output'),
        RevokeRequest: jsonSchema(revokeBodySchema, 'input'),
        InstallPolicy: jsonSchema(policyWireSchema, 'output'),
        InstallPolicyRequest: jsonSchema(policyBodySchema, 'input'),
        ApprovedAppRequest: jsonSchema(approvedBodySchema, 'input'),
        RoleRequest: jsonSchema(roleBodySchema, 'input'),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
    security: [{ adminToken: [] }, { session: [] }],
    paths: {
      ...ownerOperationPaths(errors),
      ...subscriptionPaths(errors),
      ...deliveryOperationPaths(errors),
      ...consolePaths(errors, error),
      '/workspaces': {
        get: {
          summary: 'Workspaces the caller may see (all, for organisation admins)',
          responses: { 200: { description: 'A list of workspaces' }, ...errors },
        },
      },
      '/apps': {
        get: {
          summary: 'Every partner app (organisation admins); never secrets or their hashes',
          responses: {
            200: {
              description: 'A list of partner apps',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['object', 'apps'],
                    properties: { object: { const: 'list' }, apps: { type: 'array', items: { $ref: '#/components/schemas/PartnerApp' } } },
                  },
                },
              },
            },
            ...errors,
          },
        },
        post: {
          summary: 'Register a partner app (organisation admins); a confidential client gets its secret in this answer only',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewPartnerApp' } } } },
          responses: {
            201: {
              description: 'Registered; client_secret present for confidential clients, once',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/PartnerApp' } } },
            },
            400: {
              description: 'Bad input (nothing stored), including a refused logo',
              content: { 'application/json': { schema: error } },
            },
            ...errors,
          },
        },
      },
      '/apps/{client_id}/rotate-secret': {
        post: {
          summary: "Replace a confidential client's secret (organisation admins); the old one stops working at once",
          parameters: [{ name: 'client_id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: {
              description: 'The new secret, shown once',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/RotatedSecret' } } },
            },
            400: { description: 'A public client has no secret', content: { 'application/json': { schema: error } } },
            404: { description: 'No app with this client id', content: { 'application/json': { schema: error } } },
            ...errors,
          },
        },
      },
      '/keys/rotate': {
        post: {
          summary: 'Re-encrypt every stored credential under the current key (organisation admins)',
          responses: {
            200: { description: 'How many values were re-encrypted, and which (by type and id) no configured key decrypts' },
            ...errors,
          },
        },
      },
    },
  };
}

/** The connections console: grants, install policy, approved list, roles, disconnection. */
function consolePaths(errors: Record<string, unknown>, error: Record<string, unknown>): Record<string, unknown> {
  const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
  const body = (ref: string, required = true) => ({ required, ...json(ref) });
  const workspace = { name: 'workspace_id', in: 'path', required: true, schema: { type: 'string' }, description: "Notion's workspace id" };
  const notFound = {
    404: {
      description: "Unknown, or not visible to the caller (another workspace's data never leaks)",
      content: { 'application/json': { schema: error } },
    },
  };
  const bad = { 400: { description: 'Bad input; nothing changed', content: { 'application/json': { schema: error } } } };
  const revocation = { 200: { description: 'What was revoked; idempotent', ...json('Revocation') } };
  return {
    '/grants': {
      get: {
        summary:
          "Active grants: of one workspace (owners, organisation admins); without `workspace`, every grant the caller may see (own grants and owned workspaces'; all for organisation admins)",
        parameters: ['workspace', 'person', 'app'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
        responses: {
          200: {
            description: 'A list of grants',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { object: { const: 'list' }, grants: { type: 'array', items: { $ref: '#/components/schemas/Grant' } } },
                },
              },
            },
          },
          ...bad,
          ...errors,
          ...notFound,
        },
      },
    },
    '/grants/{grant_id}': {
      get: {
        summary: 'One grant (its person, owners of its workspace, organisation admins)',
        parameters: [{ name: 'grant_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'The grant', ...json('Grant') }, ...errors, ...notFound },
      },
    },
    '/grants/{grant_id}/revoke': {
      post: {
        summary:
          'Revoke a grant: its codes, access and refresh tokens are refused from the next request on, on every instance; audited as grant.revoked (idempotent)',
        parameters: [{ name: 'grant_id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: body('RevokeRequest', false),
        responses: { ...revocation, ...bad, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/connections': {
      get: {
        summary: 'Every connection of the workspace, per partner app, with who added it and when (owners)',
        parameters: [workspace],
        responses: { 200: { description: 'Connections' }, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/connections/{app_id}/users': {
      get: {
        summary: '"View users with access": who authorised the app, on which pages, with which capabilities (owners)',
        parameters: [
          workspace,
          { name: 'app_id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'person', in: 'query', required: false, schema: { type: 'string' } },
        ],
        responses: { 200: { description: 'Users with access' }, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/connections/{app_id}/disconnect': {
      post: {
        summary: '"Disconnect" / "Disconnect all users": revoke every grant of the app in the workspace (owners)',
        parameters: [workspace, { name: 'app_id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: body('RevokeRequest', false),
        responses: { ...revocation, ...bad, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/policy': {
      get: {
        summary: 'The install policy (owners)',
        parameters: [workspace],
        responses: { 200: { description: 'The policy', ...json('InstallPolicy') }, ...errors, ...notFound },
      },
      post: {
        summary:
          '"Restrict members from installing connections" and "Auto-approve connections built by <organisation name>" (owners; owners themselves are exempt)',
        parameters: [workspace],
        requestBody: body('InstallPolicyRequest'),
        responses: { 200: { description: 'The policy now', ...json('InstallPolicy') }, ...bad, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/approved-apps': {
      get: {
        summary: '"Approved connections", who installed each, and the apps that may be added (installed in this workspace)',
        parameters: [workspace],
        responses: { 200: { description: 'The approved list' }, ...errors, ...notFound },
      },
      post: {
        summary: '"+ Add approved connection": only a partner app already installed in this workspace',
        parameters: [workspace],
        requestBody: body('ApprovedAppRequest'),
        responses: { 201: { description: 'Added' }, 200: { description: 'Already on the list' }, ...bad, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/approved-apps/{client_id}/remove': {
      post: {
        summary: '"Remove from approved list": stops new installs by members; existing grants stay',
        parameters: [workspace, { name: 'client_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'Removed (or was not on the list)' }, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/members': {
      get: {
        summary: 'Owners and members (owners)',
        parameters: [workspace],
        responses: { 200: { description: 'Members' }, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/members/role': {
      post: {
        summary: 'Make a member an owner or an owner a member; the last owner cannot step down (409)',
        parameters: [workspace],
        requestBody: body('RoleRequest'),
        responses: {
          200: { description: 'The role now' },
          409: { description: 'The last owner', content: { 'application/json': { schema: error } } },
          ...bad,
          ...errors,
          ...notFound,
        },
      },
    },
    '/workspaces/{workspace_id}/integrations/{integration_id}/disconnect': {
      post: {
        summary:
          '"Disconnect" an internal integration from every page of the workspace; it stays, with its token, to be connected again (owners)',
        parameters: [workspace, { name: 'integration_id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: body('RevokeRequest', false),
        responses: { 200: { description: '{ object, integration_id, pages_disconnected }' }, ...bad, ...errors, ...notFound },
      },
    },
    '/workspaces/{workspace_id}/disconnect': {
      post: {
        summary:
          'Disconnect the whole workspace from Gatehouse: every upstream credential revoked at Notion and destroyed, every grant revoked (owners)',
        parameters: [workspace],
        requestBody: body('RevokeRequest', false),
        responses: { ...revocation, ...bad, ...errors, ...notFound },
      },
    },
    '/upstream-connections/{connection_id}/disconnect': {
      post: {
        summary:
          "Disconnect one person's Notion credential: revoked at Notion (OAuth), ciphertext destroyed, grants made through it revoked (its person, owners)",
        parameters: [{ name: 'connection_id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: body('RevokeRequest', false),
        responses: { ...revocation, ...bad, ...errors, ...notFound },
      },
    },
  };
}
