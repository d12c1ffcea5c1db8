/**
 * Who is calling the admin API: a signed-in person (session, with CSRF on
 * writes, checked globally) or the holder of an admin token. An admin token
 * carries its holder's rights and no more; the bootstrap token written into
 * the data folder is the organisation admin's.
 */
import type { RequestHandler } from 'express';
import type { Clock } from '../clock.js';
import { forbidden, unauthorized } from '../http/errors.js';
import type { AdminTokenStore } from '../store/admin-tokens.js';
import type { PeopleStore, Person } from '../store/people.js';

export interface AdminPrincipal {
  via: 'session' | 'admin_token';
  person: Person | null;
  isOrganisationAdmin: boolean;
  label: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      principal?: AdminPrincipal;
      /** Extra origins the page's forms may lead to (CSP form-action), e.g. a partner's redirect URI. */
      formActionOrigins?: string[];
    }
  }
}

export function isOrganisationAdmin(person: Person, adminEmails: string[]): boolean {
  return person.emailVerified && adminEmails.includes(person.email.toLowerCase());
}

export function adminAuthentication(deps: {
  adminTokens: AdminTokenStore;
  people: PeopleStore;
  adminEmails: string[];
  clock: Clock;
}): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header);
      if (!match) return next(unauthorized('The Authorization header must be "Bearer <admin token>".'));
      const holder = await deps.adminTokens.authenticate(match[1]!, deps.clock.now());
      if (!holder) return next(unauthorized('This admin token is not valid.'));
      const person = holder.personId ? await deps.people.findById(holder.personId) : null;
      if (holder.personId && !person) return next(unauthorized('This admin token is not valid.'));
      res.locals.principal = {
        via: 'admin_token',
        person,
        isOrganisationAdmin: holder.bootstrap || (person !== null && isOrganisationAdmin(person, deps.adminEmails)),
        label: holder.bootstrap ? 'bootstrap admin token' : `admin token of ${person!.email}`,
      };
      return next();
    }
    if (req.user) {
      res.locals.principal = {
        via: 'session',
        person: req.user,
        isOrganisationAdmin: isOrganisationAdmin(req.user, deps.adminEmails),
        label: req.user.email,
      };
      return next();
    }
    next(unauthorized());
  };
}

export const requireOrganisationAdmin: RequestHandler = (_req, res, next) => {
  if (res.locals.principal?.isOrganisationAdmin) return next();
  next(forbidden('Only organisation admins can do that.'));
};
