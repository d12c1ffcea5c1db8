/**
 * Sign-in and sign-out, as page contracts in the public zone. Passport regenerates the session id at
 * sign-in and sign-out (session fixation); `keepSessionInfo` carries the page
 * to come back to across the regeneration.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import passportModule, { type PassportStatic } from 'passport';
import * as client from 'openid-client';
import type { Clock } from '../clock.js';
import { contractsFor, type Contract } from '../http/contract.js';
import { HttpError, isUnavailableError, notFound } from '../http/errors.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import type { AuditStore } from '../store/audit.js';
import type { PeopleStore, Person } from '../store/people.js';
import { StatefulOidcStrategy } from './oidc-strategy.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- passport's req.user is declared by extending this interface
    interface User extends Person {}
  }
}

export interface IdentityDeps {
  publicUrl: string;
  /** How long a signed-in session lives without use. */
  sessionIdleMinutes: number;
  discover: () => Promise<client.Configuration>;
  people: PeopleStore;
  audit: AuditStore;
  clock: Clock;
  /** Runs after a successful sign-in, without delaying it (membership sync). */
  onSignedIn?: (person: Person) => void;
}

const STRATEGY = 'oidc';

/** Only same-origin paths: an open redirect after sign-in would hand the session's trust to anyone. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/workspaces';
  return value.length > 2048 ? '/workspaces' : value;
}

export function createPassport(people: PeopleStore): PassportStatic {
  const passport = new passportModule.Passport() as unknown as PassportStatic;
  passport.serializeUser((user, done) => done(null, (user as Person).id));
  passport.deserializeUser((id: string, done) => {
    people.findById(id).then((person) => done(null, person ?? false), done);
  });
  return passport;
}

/** What the sign-in contracts are given (./sign-in-pages.ts): the deps, the passport and its strategy, built on first use. */
export interface IdentityContext extends IdentityDeps {
  passport: PassportStatic;
  strategy: string;
  ensureStrategy: () => Promise<void>;
}

export function identityRoutes(passport: PassportStatic, deps: IdentityDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'public', IDENTITY_PAGES, identityContext(passport, deps), guards);
  return router;
}

function identityContext(passport: PassportStatic, deps: IdentityDeps): IdentityContext {
  let strategyReady: Promise<void> | null = null;

  // Discovery must run after listen (the sandbox provider is in this process), so the strategy is built on first use.
  const ensureStrategy = () => {
    strategyReady ??= deps
      .discover()
      .then((config) => {
        passport.use(
          STRATEGY,
          new StatefulOidcStrategy(
            {
              config,
              scope: 'openid email profile',
              callbackURL: `${deps.publicUrl}/auth/callback`,
              passReqToCallback: true,
              sessionKey: 'oidc',
            },
            (_req, tokens, verified) => {
              verifyPerson(config, tokens, deps).then(
                (person) => verified(null, person),
                (err) => verified(err),
              );
            },
          ),
        );
      })
      .catch((err) => {
        strategyReady = null;
        throw err;
      });
    return strategyReady;
  };

  return { ...deps, passport, strategy: STRATEGY, ensureStrategy };
}

const { page } = contractsFor<IdentityContext>();

/** The strategy, or a 503 naming the provider as unreachable (discovery is retried on the next sign-in). */
async function strategyOrUnavailable(ctx: IdentityContext): Promise<void> {
  try {
    await ctx.ensureStrategy();
  } catch (err) {
    throw new HttpError(503, 'unavailable', 'The identity provider cannot be reached. Try again in a moment.', String(err));
  }
}

/**
 * Runs passport's middleware as the rest of a handler: done once it answered
 * (a redirect to the provider, its 401) or passed on. Passing on with no
 * answer (a strategy that succeeded without a callback) is what the next
 * route would have said: there is no page here.
 */
function runMiddleware(middleware: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    res.once('finish', () => resolve());
    res.once('close', () => resolve());
    void middleware(req, res, (err?: unknown) => {
      if (err) reject(err);
      else if (!res.headersSent) reject(notFound('There is no page here.'));
      else resolve();
    });
  });
}

/** passport.authenticate with a callback: what the strategy decided, as a value. */
function authenticateOnce(ctx: IdentityContext, req: Request, res: Response): Promise<{ err: unknown; person: Person | false }> {
  return new Promise((resolve, reject) => {
    const middleware = ctx.passport.authenticate(ctx.strategy, (err: unknown, person: Person | false) => resolve({ err, person }));
    void middleware(req, res, (err?: unknown) => (err ? reject(err) : reject(notFound('There is no page here.'))));
  });
}

const viaCallback = <T>(call: (done: (err?: unknown) => void) => void) =>
  new Promise<T | void>((resolve, reject) => call((err) => (err ? reject(err) : resolve())));

export const signIn = page(
  {
    zone: 'public',
    name: 'signIn',
    method: 'get',
    path: '/auth/sign-in',
    summary: 'Sign in: on to the identity provider, back to a same-origin return_to',
    answer: 'redirect',
    audit: { none: 'a redirect to the identity provider' },
  },
  async (_input, { req, res }, ctx) => {
    await strategyOrUnavailable(ctx);
    req.session.returnTo = safeReturnTo(req.query.return_to);
    // "Use another account" (consent): the provider asks again instead of reusing its own session (OpenID Connect Core §3.1.2.1).
    await runMiddleware(ctx.passport.authenticate(ctx.strategy, req.query.prompt === 'login' ? { prompt: 'login' } : {}), req, res);
  },
);

export const signInCallback = page(
  {
    zone: 'public',
    name: 'signInCallback',
    method: 'get',
    path: '/auth/callback',
    summary: "The identity provider's answer: state and PKCE checked, the session regenerated",
    answer: 'redirect',
    audit: ['person.signed_in', 'person.sign_in_failed'],
  },
  async (_input, { req, res }, ctx) => {
    await strategyOrUnavailable(ctx);
    const { err, person } = await authenticateOnce(ctx, req, res);
    if (err || !person) {
      if (err && isUnavailableError(err)) throw err;
      if (err instanceof SignInRefused) throw new HttpError(403, 'forbidden', err.message);
      ctx.audit
        .record(
          {
            action: 'person.sign_in_failed',
            actor: { type: 'system' },
            address: req.ip ?? null,
            outcome: 'failure',
            detail: { reason: err ? String((err as Error).message ?? err) : 'state' },
          },
          ctx.clock.now(),
        )
        .catch(() => undefined);
      // A missing, wrong or replayed state lands here: no session is created.
      throw new HttpError(
        400,
        'invalid_request',
        'Sign-in could not be completed: the request was not started here, was already used, or expired. Start again from Gatehouse.',
        err ? String(err) : undefined,
      );
    }
    const returnTo = safeReturnTo(req.session.returnTo);
    await viaCallback((done) => req.logIn(person, { session: true, keepSessionInfo: true }, done));
    delete req.session.returnTo;
    req.session.signedInAt = ctx.clock.now().getTime();
    // Signed in now: the session lives the idle timeout (it was opened anonymous, for minutes).
    req.session.cookie.maxAge = ctx.sessionIdleMinutes * 60_000;
    ctx.audit
      .record(
        {
          action: 'person.signed_in',
          actor: { type: 'person', id: person.id, label: person.email },
          address: req.ip ?? null,
          outcome: 'success',
        },
        ctx.clock.now(),
      )
      .catch(() => undefined);
    ctx.onSignedIn?.(person);
    res.redirect(303, returnTo);
  },
);

export const signOut = page(
  {
    zone: 'public',
    name: 'signOut',
    method: 'post',
    path: '/auth/sign-out',
    summary: '"Sign out": the session destroyed',
    answer: 'redirect',
    audit: { none: 'ends a session' },
  },
  async (_input, { req, res }) => {
    await viaCallback((done) => req.logout({ keepSessionInfo: false }, done));
    await viaCallback((done) => req.session.destroy(done));
    res.redirect(303, '/');
  },
);

/** Public: sign-in is how a person becomes known; sign-out needs no session to be harmless (CSRF checked before every zone). */
export const IDENTITY_PAGES: ReadonlyArray<Contract<'public', IdentityContext>> = [signIn, signInCallback, signOut];

export class SignInRefused extends Error {}

async function verifyPerson(
  config: client.Configuration,
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  deps: IdentityDeps,
): Promise<Person> {
  const claims = tokens.claims();
  if (!claims) throw new SignInRefused('The identity provider sent no ID token.');
  let email = typeof claims.email === 'string' ? claims.email : undefined;
  let emailVerified = claims.email_verified === true;
  let name = typeof claims.name === 'string' ? claims.name : undefined;
  if (!email || !name) {
    // Some providers put profile claims only in the UserInfo response.
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    email ??= typeof info.email === 'string' ? info.email : undefined;
    emailVerified ||= info.email_verified === true && info.email === email;
    name ??= typeof info.name === 'string' ? info.name : undefined;
  }
  if (!email || !emailVerified)
    throw new SignInRefused('Your identity provider did not confirm your email address, so Gatehouse cannot sign you in.');
  return deps.people.upsertFromSignIn(
    { issuer: claims.iss, subject: claims.sub, email, emailVerified, name: name ?? email },
    deps.clock.now(),
  );
}
