/**
 * The caller of an internal-integration endpoint as the rules and the audit
 * trail see them: from an admin principal (API) or a signed-in person (pages).
 */
import type { Request } from 'express';
import type { AdminPrincipal } from './auth.js';
import type { Caller } from './internal-integrations.js';

/** The caller as the rules and the audit trail see them. */
export function callerOf(principal: AdminPrincipal, req: Request): Caller {
  return {
    person: principal.person,
    actor: {
      type: principal.via === 'session' ? 'person' : 'admin_token',
      id: principal.person?.id ?? null,
      label: principal.label,
      address: req.ip ?? null,
    },
  };
}

export function pageCaller(req: Request): Caller {
  return { person: req.user!, actor: { type: 'person', id: req.user!.id, label: req.user!.email, address: req.ip ?? null } };
}
