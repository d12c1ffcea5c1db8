import { DELIVERY_API } from '../webhooks/delivery-api.js';
import { SUBSCRIPTION_API } from '../webhooks/subscription-api.js';
import { PARTNER_APP_API } from './partner-app-api.js';
import { INTERNAL_INTEGRATION_API } from './internal-integration-api.js';
import { INTAKE_ADMIN_API } from '../webhooks/intake-routes.js';
import { CONSOLE_API } from './console-routes.js';
import { ADMIN_TOKEN_API } from './admin-token-routes.js';
import { AUDIT_API } from './audit-routes.js';
import { ADMIN_API_ORG_ADMIN, ADMIN_API_OWNER, ADMIN_API_PUBLIC } from './api.js';
import { contractOperations } from '../http/openapi-contracts.js';
import type { AnyApiContract, Contract } from '../http/contract.js';

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
    ...INTERNAL_INTEGRATION_API,
    ...INTAKE_ADMIN_API,
    ...DELIVERY_API,
    ...SUBSCRIPTION_API,
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
    paths: generated.paths,
  };
}
