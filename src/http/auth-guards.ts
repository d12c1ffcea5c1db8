import type { RequestHandler } from 'express';
import type { WorkspaceStore } from '../store/workspaces.js';
import { unauthorized } from './errors.js';

/** Pages need a signed-in person: browsers go to sign-in and come back; other requests get 401. */
export const requireSignIn: RequestHandler = (req, res, next) => {
  if (req.user) return next();
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.redirect(303, `/auth/sign-in?return_to=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  next(unauthorized('Sign in first.'));
};

/** The header every signed-in page shows: name, "Sign out", and "Connections" for owners. */
export function pageChrome(workspaces: WorkspaceStore, adminEmails: string[]): RequestHandler {
  return (req, res, next) => {
    if (!req.user) return next();
    workspaces.listForPerson(req.user.id).then((mine) => {
      const isOrganisationAdmin = req.user!.emailVerified && adminEmails.includes(req.user!.email.toLowerCase());
      res.locals.pageChrome = {
        person: {
          displayName: req.user!.name || req.user!.email,
          isOwnerSomewhere: mine.some((w) => w.role === 'owner'),
          isOrganisationAdmin,
        },
      };
      next();
    }, next);
  };
}
