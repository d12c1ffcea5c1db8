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
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
      },
    },
    security: [{ adminToken: [] }, { session: [] }],
    paths: {
      '/workspaces': { get: { summary: 'Workspaces the caller may see (all, for organisation admins)', responses: { 200: { description: 'A list of workspaces' }, ...errors } } },
      '/keys/rotate': { post: { summary: 'Re-encrypt every stored credential under the current key (organisation admins)', responses: { 200: { description: 'How many values were re-encrypted' }, ...errors } } },
    },
  };
}
