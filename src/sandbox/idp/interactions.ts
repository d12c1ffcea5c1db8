/**
 * The sandbox provider's sign-in page, in place of oidc-provider's
 * development login (which accepts any password).
 *
 *   GET  {mount}/interaction/:uid        the form: Email, Password, "Sign in"
 *   POST {mount}/interaction/:uid/login  check CSRF token, check credentials,
 *                                        hand the subject to oidc-provider (303)
 *
 * oidc-provider binds the interaction to the browser with its own signed
 * cookie (path-scoped to the interaction URL); the form's CSRF token is an
 * HMAC of the interaction uid under a per-process random key, so it is bound
 * to that one interaction and needs no storage. Consent is never shown: every
 * client is first-party (see firstPartyGrant).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import { errors, type Interaction } from 'oidc-provider';
import { renderPage } from '../../http/views.js';
import { firstPartyGrant } from './provider.js';
import type { UserDirectory } from './users.js';

interface SignInForm {
  email: string;
  error?: string;
}

export function interactionRoutes(
  provider: Provider,
  users: UserDirectory,
  mountPath: string,
  demoHint: ReadonlyArray<{ email: string; password: string; name: string }>,
): Router {
  const router = express.Router();
  const csrfKey = randomBytes(32);

  const csrfTokenFor = (uid: string) => createHmac('sha256', csrfKey).update(uid).digest('base64url');
  const csrfTokenMatches = (uid: string, given: string | undefined) => {
    const expected = Buffer.from(csrfTokenFor(uid));
    const actual = Buffer.from(given ?? '');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  };

  function renderSignIn(res: Response, uid: string, form: SignInForm, status = 200): void {
    renderPage(
      res,
      'sandbox/idp-sign-in',
      {
        title: 'Sign in',
        sandbox: true,
        action: `${mountPath}/interaction/${encodeURIComponent(uid)}/login`,
        signInToken: csrfTokenFor(uid),
        email: form.email,
        error: form.error,
        demoUsers: demoHint,
      },
      status,
    );
  }

  function renderMessage(res: Response, status: number, title: string, message: string): void {
    renderPage(res, 'sandbox/idp-message', { title, message, sandbox: true }, status);
  }

  /** The interaction behind this request, if its cookie names the uid in the path. */
  async function interactionFor(req: Request, res: Response) {
    const interaction = await provider.interactionDetails(req, res);
    if (interaction.uid !== req.params.uid) throw new errors.SessionNotFound('interaction uid does not match the cookie');
    return interaction;
  }

  /**
   * Every sign-in starts a fresh provider session. Were the browser still
   * signed in as someone else, oidc-provider would first end that session
   * through an auto-submitting page with an inline script, which the strict
   * CSP blocks; ending it here, before the result is handed over, avoids that.
   */
  async function endPreviousSession(interaction: Interaction): Promise<void> {
    if (!interaction.session) return;
    const previous = await provider.Session.findByUid(interaction.session.uid);
    await previous?.destroy();
    interaction.session = undefined;
    await interaction.persist();
  }

  const noStore = (_req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    next();
  };

  router.get('/interaction/:uid', noStore, async (req, res) => {
    const interaction = await interactionFor(req, res);
    const { prompt, params, session } = interaction;
    if (prompt.name === 'consent' && session?.accountId) {
      const grant = await firstPartyGrant(provider, session.accountId, String(params.client_id), interaction.grantId);
      await provider.interactionFinished(req, res, { consent: { grantId: grant.jti } }, { mergeWithLastSubmission: true });
      return;
    }
    const loginHint = typeof params.login_hint === 'string' ? params.login_hint : '';
    renderSignIn(res, interaction.uid, { email: loginHint });
  });

  router.post('/interaction/:uid/login', noStore, express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
    const interaction = await interactionFor(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof body[name] === 'string' ? body[name] : undefined);

    if (!csrfTokenMatches(interaction.uid, field('csrf_token'))) {
      renderMessage(
        res,
        403,
        'Sign-in form expired',
        'The sign-in form could not be verified. Go back to the application and sign in again.',
      );
      return;
    }
    if (interaction.prompt.name !== 'login') {
      renderMessage(res, 400, 'Sign-in error', 'This sign-in is not waiting for a password. Go back to the application and sign in again.');
      return;
    }

    const email = field('email') ?? '';
    const user = users.authenticate(email, field('password') ?? '');
    if (!user) {
      renderSignIn(res, interaction.uid, { email, error: 'Incorrect email or password.' }, 401);
      return;
    }
    await endPreviousSession(interaction);
    await provider.interactionFinished(req, res, { login: { accountId: user.subject } }, { mergeWithLastSubmission: false });
  });

  // A missing or expired interaction cookie: a page, not a stack trace. Anything else goes to the app's error handler.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof errors.SessionNotFound) {
      renderMessage(
        res,
        400,
        'Sign-in expired',
        'This sign-in has expired or was started in another browser. Go back to the application and sign in again.',
      );
      return;
    }
    next(err);
  });

  return router;
}
