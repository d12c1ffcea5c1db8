/** What every sandbox Notion API route shares: its dependencies, the authenticated call, and path and body parsing. */
import type { Request, Response } from 'express';
import { isObject } from './content.js';
import { invalidRequestUrl, validationError } from './errors.js';
import { normalizeId } from './ids.js';
import type { TokenBucketLimiter } from './rate-limit.js';
import type { NotionVersion, View } from './serialize.js';
import type { IntegrationRecord, StateStore } from './state.js';
import type { ContentEvents } from './webhook-events.js';

export interface ApiDeps {
  store: StateStore;
  publicUrl: string;
  clock: () => Date;
  limiter: TokenBucketLimiter;
  /** Webhook hooks: called after each change, before the answer. */
  events: ContentEvents;
  countApiCall: () => void;
}

export interface Call {
  view: View;
  integration: IntegrationRecord;
  now: Date;
}

export const call = (res: Response): Call => res.locals.sandboxNotionCall as Call;

/** A path id, with or without dashes, or 400 as Notion answers a malformed one. */
export function pathId(raw: string | string[] | undefined, name: string): string {
  const value = Array.isArray(raw) ? raw[0] : (raw ?? '');
  const id = normalizeId(value);
  if (!id) throw validationError(`path failed validation: path.${name} should be a valid uuid, instead was \`${JSON.stringify(value)}\`.`);
  return id;
}

export function body(req: Request): Record<string, unknown> {
  if (req.body === undefined || req.body === null) return {};
  if (!isObject(req.body)) throw validationError('body failed validation: body should be an object.');
  return req.body;
}

export function requireVersion(version: NotionVersion, call: Call): void {
  if (call.view.version !== version) throw invalidRequestUrl();
}
