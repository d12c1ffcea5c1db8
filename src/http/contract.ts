/**
 * An endpoint as a declared contract, in the style of the proxy's allow-list
 * (src/proxy/endpoints.ts): who may call it (its trust zone), method and path,
 * the zod schemas of its params, query, body and answer, the audit action it
 * records, and a named handler that calls one rule. Zone routers
 * (./zones.ts) mount contracts and apply authentication; the admin API's
 * OpenAPI document is generated from the same list (src/admin/openapi.ts).
 * docs/architecture.md describes the zones.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AuditAction } from '../audit/actions.js';

/**
 * public: anyone. partner: a partner's client credentials or token (the
 * OAuth, proxy and MCP areas authenticate those themselves). session-page: a
 * signed-in person. owner: a signed-in person or an admin token, the rule
 * deciding which workspaces are theirs. org-admin: an organisation admin
 * (signed in, or by admin token).
 */
export type Zone = 'public' | 'partner' | 'session-page' | 'owner' | 'org-admin';
export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';

/** What the endpoint writes to the audit log: one or more actions, or none and why. */
export type AuditRecord = AuditAction | readonly AuditAction[] | { none: string };

export interface ContractInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export interface HandlerContext {
  req: Request;
  res: Response;
}

interface ContractBase<Z extends Zone, D, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  zone: Z;
  /** The operation's name: the handler's and, for the API, the OpenAPI operationId. */
  name: string;
  method: HttpMethod;
  /** Express path; `:name` parameters use the names the OpenAPI document shows. */
  path: string;
  summary: string;
  /** A parameter that fails its schema answers 404: an id of the wrong shape names nothing. */
  params?: P;
  /** A query that fails its schema answers 400. */
  query?: Q;
  /** A body that fails its schema answers 400 (./validation.ts words it). */
  body?: B;
  /** An absent body is refused ("The body must be a JSON object.") rather than read as `{}`. */
  bodyRequired?: boolean;
  /** The sentence a body that fails its schema is refused with, instead of zod's (a form a person cannot fix). */
  invalidBody?: string;
  /** Likewise for the query. */
  invalidQuery?: string;
  audit: AuditRecord;
  /** A check on who is calling, run after the zone's guard and before the input is read: a refusal of the caller comes before one of the input. */
  caller?(ctx: HandlerContext, deps: D): void | Promise<void>;
  /** Shapes the raw query before its schema reads it (a GET form sends its empty fields). */
  prepareQuery?(raw: Record<string, unknown>): unknown;
  /** The refusals worth documenting, by status (401 and 403 are the zone's). */
  refusals?: Readonly<Record<number, string>>;
}

/** A JSON endpoint: the handler returns the answer, typed by its schema. D: what the area's handlers are given (stores, rules). */
export interface ApiContract<
  Z extends Zone = Zone,
  D = never,
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  A extends z.ZodType = z.ZodType,
> extends ContractBase<Z, D, P, Q, B> {
  kind: 'api';
  answer: A;
  /** The status of a successful answer when not 200; a handler may still set another (201 vs 200 for "already there"). */
  successStatus?: number;
  /** OpenAPI component names for the body and answer schemas, when shared between operations. */
  components?: { body?: string; answer?: string };
  /** The body may be left out altogether. */
  bodyOptional?: boolean;
  // Method syntax: a list of contracts holds handlers of different input types.
  handler(input: ContractInput<z.output<P>, z.output<Q>, z.output<B>>, ctx: HandlerContext, deps: D): Promise<z.input<NoInfer<A>>>;
}

/** A page or a form post: the handler renders (HTML) or redirects (303); or a stored image it sends as is. */
export interface PageContract<
  Z extends Zone = Zone,
  D = never,
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> extends ContractBase<Z, D, P, Q, B> {
  kind: 'page';
  answer: 'html' | 'redirect' | 'image';
  /** For org-admin pages: the sentence a signed-in person who is not one is refused with (403). */
  adminOnly?: string;
  handler(input: ContractInput<z.output<P>, z.output<Q>, z.output<B>>, ctx: HandlerContext, deps: D): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- erased deps: a list of any area's contracts (the OpenAPI document, route tests)
export type Contract<Z extends Zone = Zone, D = any> = ApiContract<Z, D> | PageContract<Z, D>;

/** A JSON contract of any area (its deps erased). */
export type AnyApiContract = Extract<Contract, { kind: 'api' }>;

type Empty = z.ZodObject<Record<string, never>>;

/**
 * The declaration helpers of one area, its handlers' deps fixed (D), the
 * schemas' types inferred from each declaration.
 */
export function contractsFor<D>() {
  return {
    api<
      Z extends Zone,
      P extends z.ZodType = Empty,
      Q extends z.ZodType = Empty,
      B extends z.ZodType = Empty,
      A extends z.ZodType = z.ZodType,
    >(
      declaration: Omit<ApiContract<Z, D, P, Q, B, A>, 'kind' | 'handler'>,
      handler: ApiContract<Z, D, P, Q, B, A>['handler'],
    ): ApiContract<Z, D, P, Q, B, A> {
      return { kind: 'api', ...declaration, handler };
    },
    page<Z extends Zone, P extends z.ZodType = Empty, Q extends z.ZodType = Empty, B extends z.ZodType = Empty>(
      declaration: Omit<PageContract<Z, D, P, Q, B>, 'kind' | 'handler'>,
      handler: PageContract<Z, D, P, Q, B>['handler'],
    ): PageContract<Z, D, P, Q, B> {
      return { kind: 'page', ...declaration, handler };
    },
  };
}
