/**
 * "Request approval" on the consent page: a member whom "Only from approved
 * list" keeps from connecting an app asks the workspace's owners instead of
 * waiting without a word. One pending request per (workspace, app, member);
 * pressing again changes nothing. Owners answer on "Connections"
 * (src/admin/console/approval-requests.ts); the member reads the answer under
 * "My connections" and, once approved, consents as usual.
 *
 *   POST /consent/:transactionId/approval-request   303 back to the consent page
 */
import { z } from 'zod';
import { contractsFor, type Contract } from '../http/contract.js';
import { checkInstallPolicy } from '../oauth/grant-rules.js';
import { findTransaction } from '../oauth/transaction.js';
import type { ApprovalRequestStore } from '../store/approval-requests.js';
import type { PartnerApp } from '../store/partner-apps.js';
import { ConsentRefused, requireActiveMember, requireApp, requireOpenTransaction, type ConsentDeps } from './decide.js';

export interface ApprovalRequestDeps extends ConsentDeps {
  approvalRequests: ApprovalRequestStore;
}

/** What the consent page's refusal offers: the button, or that the request is on its way. Null when owners cannot lift the refusal. */
export async function approvalOffer(
  deps: Pick<ApprovalRequestDeps, 'workspaces' | 'grants' | 'approvalRequests'>,
  args: { transactionId: string; workspaceId: string; personId: string; app: PartnerApp },
): Promise<{ action: string; pending: boolean } | null> {
  const install = await checkInstallPolicy(deps, args);
  if (install.allowed) return null;
  const existing = await deps.approvalRequests.find(args.workspaceId, args.app.id, args.personId);
  return {
    action: `/consent/${encodeURIComponent(args.transactionId)}/approval-request`,
    pending: existing?.status === 'pending',
  };
}

const { page } = contractsFor<ApprovalRequestDeps>();

export const requestApproval = page(
  {
    zone: 'session-page',
    name: 'requestApprovalPage',
    method: 'post',
    path: '/consent/:transactionId/approval-request',
    summary: '"Request approval": ask the owners to approve an app the install policy refuses',
    params: z.object({ transactionId: z.string().min(1).max(100) }),
    body: z.object({ _csrf: z.string(), workspace: z.string().min(1).max(100) }).strict(),
    invalidBody: 'Choose the workspace whose owners should approve this connection.',
    answer: 'redirect',
    audit: 'approval_request.created',
  },
  async ({ params, body }, { req, res }, deps) => {
    const now = deps.clock.now();
    const transaction = requireOpenTransaction(findTransaction(req, params.transactionId, now));
    const app = await requireApp(deps, transaction);
    const person = req.user!;
    await requireActiveMember(deps, person.id, body.workspace);
    // Only a refusal the approved list can lift is worth asking for: owners and approved apps need no request.
    if ((await checkInstallPolicy(deps, { workspaceId: body.workspace, personId: person.id, app })).allowed)
      throw new ConsentRefused('policy', `${app.name} needs no approval in this workspace: go back and connect it.`);
    const { request, created } = await deps.approvalRequests.request(
      { workspaceId: body.workspace, appId: app.id, personId: person.id },
      now,
    );
    if (created) {
      await deps.audit.record(
        {
          action: 'approval_request.created',
          actor: { type: 'person', id: person.id, label: person.email },
          target: { type: 'partner_app', id: app.id },
          workspaceId: body.workspace,
          address: req.ip ?? null,
          outcome: 'success',
          detail: { approvalRequestId: request.id, appName: app.name },
        },
        now,
      );
    }
    res.redirect(303, `/consent/${encodeURIComponent(transaction.id)}?workspace=${encodeURIComponent(body.workspace)}`);
  },
);

/** Mounted with the consent screen's contracts (./routes.ts), behind the application's zone guards. */
export const APPROVAL_REQUEST_PAGES: ReadonlyArray<Contract<'session-page', ApprovalRequestDeps>> = [requestApproval];
