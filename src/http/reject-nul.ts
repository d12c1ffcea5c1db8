/**
 * PostgreSQL text cannot hold a NUL character, and no legitimate input
 * carries one: a NUL anywhere in the URL or a parsed body is a 400, before
 * it can reach a query and become a 500.
 */
import type { RequestHandler } from 'express';
import { badRequest } from './errors.js';

function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 20 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => containsNul(v, depth + 1));
  return Object.entries(value as Record<string, unknown>).some(([k, v]) => k.includes('\u0000') || containsNul(v, depth + 1));
}

export const rejectNulInUrl: RequestHandler = (req, _res, next) => {
  next(/%00/i.test(req.originalUrl) ? badRequest('The request contains a NUL character.') : undefined);
};

export const rejectNulInBody: RequestHandler = (req, _res, next) => {
  next(containsNul(req.body) ? badRequest('The request contains a NUL character.') : undefined);
};
