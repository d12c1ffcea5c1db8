/**
 * How a request that fails its zod schema is described, in one place for
 * every admin and page endpoint: the first complaint, as one sentence naming
 * the field (400). A path parameter of the wrong shape names nothing (404).
 */
import type { z } from 'zod';
import { badRequest, notFound, type HttpError } from './errors.js';

/** Zod's first complaint, as one sentence naming the field. */
export function describeZodError(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  if (issue.code === 'unrecognized_keys')
    return `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}.`;
  if (issue.path.length === 0 && (input === undefined || typeof input !== 'object' || input === null || Array.isArray(input))) {
    return 'The body must be a JSON object.';
  }
  // Zod 4 does not keep the offending value in its issues: look it up to tell "missing" from "wrong".
  let value: unknown = input;
  for (const key of issue.path)
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  if (issue.code === 'invalid_type' && value === undefined) return `${where}is required.`;
  return `${where}${issue.message}.`;
}

/** A body or query that fails its schema: 400 with the sentence above, or the endpoint's own sentence. */
export function invalidInput(error: z.ZodError, input: unknown, sentence?: string): HttpError {
  return sentence ? badRequest(sentence) : badRequest(describeZodError(error, input));
}

/** Parses a body or query, refusing with invalidInput. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, sentence?: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidInput(parsed.error, input, sentence);
  return parsed.data;
}

/** Parses path parameters: one of the wrong shape is a 404, as an unknown one would be. */
export function parseParams<T extends z.ZodType>(schema: T, params: unknown): z.output<T> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw notFound();
  return parsed.data;
}
