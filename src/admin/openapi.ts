import { ownerOperationPaths, ownerOperationSchemas } from './openapi-owner-operations.js';
import { deliveryOperationPaths, deliveryOperationSchemas } from '../webhooks/delivery-openapi.js';
import { PARTNER_APP_API } from './partner-app-api.js';
import { CONSOLE_API } from './console-routes.js';
import { ADMIN_TOKEN_API } from './admin-token-routes.js';
import { AUDIT_API } from './audit-routes.js';
import { ADMIN_API_ORG_ADMIN, ADMIN_API_OWNER, ADMIN_API_PUBLIC } from './api.js';
import { contractOperations } from '../http/openapi-contracts.js';
import type { AnyApiContract, Contract } from '../http/contract.js';
import { subscriptionPaths, subscriptionSchemas } from '../webhooks/subscription-openapi.js';

/** Every admin API operation declared as a contract: its route and its description come from here. */
// A function, not a constant: ./api.ts imports this module, and its lists exist only once both are loaded.
export function adminApiContracts(): ReadonlyArray<AnyApiContract> {
  const all: Contract[] = [
    ...ADMIN_API_PUBLIC,
    ...ADMIN_API_OWNER,
    ...ADMIN_API_ORG_ADMIN,
    ...CONSOLE_API,
    ...ADMIN_TOKEN_API,
    ...AUDIT_API,
    ...PARTNER_APP_API,
  ];
  return all.filter((c): c is AnyApiContract => c.kind === 'api');
}

/** The admin API's description (public). Each area adds its operations here. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const error = { $ref: '#/components/schemas/Error' };
  const errors = {
    401: { description: 'Not signed in, or no valid admin token', content: { 'application/json': { schema: error } } },
    403: { description: 'Not allowed', content: { 'application/json': { schema: error } } },
  };
  const generated = contractOperations(adminApiContracts(), '/api/admin/v1', errors);
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
        ...generated.schemas,
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
      ...generated.paths,
      // The webhook intake's admin operations (src/webhooks/intake-routes.ts), written by hand until that area is declared as contracts.
      '/webhooks/notion-token': {
        get: {
          summary: "The verification token Notion sent to an intake: the public one, or an internal integration's (organisation admins)",
          parameters: [{ name: 'integration_id', in: 'query', required: false, schema: { type: 'string' } }],
          responses: {
            200: { description: '{ intake, integration_id, url, verification_token, received_at, confirmed_at }' },
            400: { description: 'Bad input', content: { 'application/json': { schema: error } } },
            404: { description: 'No such integration', content: { 'application/json': { schema: error } } },
            ...errors,
          },
        },
      },
      '/webhooks/notion-token/reset': {
        post: {
          summary: "Forget an intake's token, so that Notion's next verification request is taken (organisation admins); audited",
          responses: {
            200: { description: 'Forgotten' },
            400: { description: 'Bad input', content: { 'application/json': { schema: error } } },
            404: { description: 'No such integration', content: { 'application/json': { schema: error } } },
            ...errors,
          },
        },
      },
    },
  };
}
