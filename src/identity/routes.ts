/**
 * Sign-in and sign-out routes. Passport regenerates the session id at
 * sign-in and sign-out (session fixation); `keepSessionInfo` carries the page
 * to come back to across the regeneration.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import passportModule, { type PassportStatic } from 'passport';
import * as client from 'openid-client';
import type { Clock } from '../clock.js';
import { HttpError, isUnavailableError } from '../http/errors.js';
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

export function identityRoutes(passport: PassportStatic, deps: IdentityDeps): Router {
  const router = Router();
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

  router.get('/auth/sign-in', async (req: Request, res: Response, next: NextFunction) => {
    try {
      await ensureStrategy();
    } catch (err) {
      next(new HttpError(503, 'unavailable', 'The identity provider cannot be reached. Try again in a moment.', String(err)));
      return;
    }
    req.session.returnTo = safeReturnTo(req.query.return_to);
    // "Use another account" (consent): the provider asks again instead of reusing its own session (OpenID Connect Core §3.1.2.1).
    passport.authenticate(STRATEGY, req.query.prompt === 'login' ? { prompt: 'login' } : {})(req, res, next);
  });

  router.get('/auth/callback', async (req: Request, res: Response, next: NextFunction) => {
    try {
      await ensureStrategy();
    } catch (err) {
      next(new HttpError(503, 'unavailable', 'The identity provider cannot be reached. Try again in a moment.', String(err)));
      return;
    }
    passport.authenticate(STRATEGY, (err: unknown, person: Person | false) => {
      if (err || !person) {
        if (err && isUnavailableError(err)) return next(err);
        if (err instanceof SignInRefused) return next(new HttpError(403, 'forbidden', err.message));
        deps.audit
          .record(
            {
              action: 'person.sign_in_failed',
              actor: { type: 'system' },
              address: req.ip ?? null,
              outcome: 'failure',
              detail: { reason: err ? String((err as Error).message ?? err) : 'state' },
            },
            deps.clock.now(),
          )
          .catch(() => undefined);
        // A missing, wrong or replayed state lands here: no session is created.
        return next(
          new HttpError(
            400,
            'invalid_request',
            'Sign-in could not be completed: the request was not started here, was already used, or expired. Start again from Gatehouse.',
            err ? String(err) : undefined,
          ),
        );
      }
      const returnTo = safeReturnTo(req.session.returnTo);
      req.logIn(person, { session: true, keepSessionInfo: true }, (loginErr) => {
        if (loginErr) return next(loginErr);
        delete req.session.returnTo;
        req.session.signedInAt = deps.clock.now().getTime();
        // Signed in now: the session lives the idle timeout (it was opened anonymous, for minutes).
        req.session.cookie.maxAge = deps.sessionIdleMinutes * 60_000;
        deps.audit
          .record(
            {
              action: 'person.signed_in',
              actor: { type: 'person', id: person.id, label: person.email },
              address: req.ip ?? null,
              outcome: 'success',
            },
            deps.clock.now(),
          )
          .catch(() => undefined);
        deps.onSignedIn?.(person);
        res.redirect(303, returnTo);
      });
    })(req, res, next);
  });

  router.post('/auth/sign-out', (req, res, next) => {
    req.logout({ keepSessionInfo: false }, (err) => {
      if (err) return next(err);
      req.session.destroy((destroyErr) => {
        if (destroyErr) return next(destroyErr);
        res.redirect(303, '/');
      });
    });
  });

  return router;
}

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
