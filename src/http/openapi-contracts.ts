/**
 * OpenAPI 3.1 operations generated from API contracts (./contract.ts): path,
 * parameters, request body and answer from the zod schemas that validate
 * them, so the document and the routes are one list and cannot drift.
 */
import { z } from 'zod';
import type { AnyApiContract, Contract } from './contract.js';

/** A zod schema as an OpenAPI 3.1 (JSON Schema 2020-12) schema. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** The OpenAPI path of a contract mounted under `base`: `/grants/{grant_id}`. */
export function openApiPath(contract: Contract, base: string): string {
  if (!contract.path.startsWith(base)) throw new Error(`${contract.name} is not under ${base}`);
  return contract.path.slice(base.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

const ERROR = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

export interface GeneratedOperations {
  paths: Record<string, Record<string, unknown>>;
  schemas: Record<string, unknown>;
}

/**
 * Paths and shared component schemas for contracts under `base`; `zoneErrors`
 * are the refusals every authenticated operation may answer (401, 403).
 */
export function contractOperations(
  contracts: ReadonlyArray<AnyApiContract>,
  base: string,
  zoneErrors: Record<number, unknown>,
): GeneratedOperations {
  const paths: GeneratedOperations['paths'] = {};
  const schemas: GeneratedOperations['schemas'] = {};
  const schemaOrRef = (schema: z.ZodType, io: 'input' | 'output', component?: string) => {
    if (!component) return jsonSchema(schema, io);
    schemas[component] ??= jsonSchema(schema, io);
    return { $ref: `#/components/schemas/${component}` };
  };
  for (const c of contracts) {
    const parameters = [
      ...Object.keys(shapeOf(c.params)).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(shapeOf(c.query)).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !schema.safeParse(undefined).success,
        schema: { type: 'string' },
      })),
    ];
    const refusals = Object.fromEntries(
      Object.entries(c.refusals ?? {}).map(([status, description]) => [status, { description, content: ERROR }]),
    );
    const operation: Record<string, unknown> = {
      operationId: c.name,
      summary: c.summary,
      'x-audit': c.audit,
      ...(c.zone === 'public' ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(c.body && Object.keys(shapeOf(c.body)).length
        ? {
            requestBody: {
              required: !c.bodyOptional,
              content: { 'application/json': { schema: schemaOrRef(c.body, 'input', c.components?.body) } },
            },
          }
        : {}),
      responses: {
        [c.successStatus ?? 200]: {
          description: 'Done',
          content: { 'application/json': { schema: schemaOrRef(c.answer, 'output', c.components?.answer) } },
        },
        ...refusals,
        ...(c.zone === 'public' ? {} : zoneErrors),
      },
    };
    (paths[openApiPath(c, base)] ??= {})[c.method] = operation;
  }
  return { paths, schemas };
}
