/**
 * Sessions: express-session with connect-redis when REDIS_URL is set, else
 * the embedded database. Cookie HttpOnly and SameSite=Lax; Secure with the
 * `__Host-` prefix when the public URL is https. Idle timeout by a rolling
 * cookie; absolute timeout from the sign-in time kept in the session.
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Clock } from '../clock.js';

declare module 'express-session' {
  interface SessionData {
    signedInAt?: number;
    returnTo?: string;
    connectState?: { value: string; reconnectWorkspaceId: string | null; createdAt: number };
  }
}

export interface SessionSettings {
  secret: string;
  secureCookies: boolean;
  trustProxy: boolean;
  idleMinutes: number;
  absoluteHours: number;
  store: session.Store;
}

export function sessionCookieName(secureCookies: boolean): string {
  // RFC 6265bis §4.1.3.2: __Host- cookies are Secure, host-only, Path=/.
  return secureCookies ? '__Host-gatehouse' : 'gatehouse.sid';
}

export function sessionMiddleware(settings: SessionSettings): RequestHandler {
  return session({
    name: sessionCookieName(settings.secureCookies),
    secret: settings.secret,
    store: settings.store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    proxy: settings.trustProxy,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: settings.secureCookies,
      path: '/',
      maxAge: settings.idleMinutes * 60_000,
    },
  });
}

/**
 * A session with nobody signed in in it (a sign-in or an authorisation under
 * way) lives this long, not the idle timeout: anyone can open one, so the
 * rows a stranger can make expire within minutes. Long enough for the sign-in
 * round trip and an authorisation (whose transaction lasts 10 minutes).
 */
export const ANONYMOUS_SESSION_MINUTES = 15;

/** Each response sets the session's lifetime by who is in it: the idle timeout once signed in, minutes before. */
export function sessionLifetimes(idleMinutes: number): RequestHandler {
  return (req, _res, next) => {
    if (req.session) req.session.cookie.maxAge = (req.user ? idleMinutes : Math.min(idleMinutes, ANONYMOUS_SESSION_MINUTES)) * 60_000;
    next();
  };
}

/** Ends sessions older than the absolute lifetime, however active they were. */
export function absoluteTimeout(clock: Clock, absoluteHours: number): RequestHandler {
  return (req, _res, next) => {
    const signedInAt = req.session?.signedInAt;
    if (signedInAt && clock.now().getTime() - signedInAt > absoluteHours * 3_600_000) {
      // A fresh, empty session (not none): everything after this expects req.session.
      req.session.regenerate((err) => next(err));
      return;
    }
    next();
  };
}
