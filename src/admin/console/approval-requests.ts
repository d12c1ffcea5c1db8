/**
 * Members ask, owners decide: the pending requests a workspace's owners see
 * on "Connections" with "Approve" and "Decline". Approving puts the app on
 * the workspace's approved list (the member's next consent proceeds);
 * declining keeps it off. Either answer is audited and shown to the member
 * under "My connections".
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { ApprovalRequestStore } from '../../store/approval-requests.js';
import type { Workspace } from '../../store/workspaces.js';
import { ConsoleError, requireOwnerOf, type ConsoleDeps } from '../connections.js';
import type { Actor } from '../revocation.js';
import { ids, page, pageActor, pageCaller, type ConsoleContext } from './context.js';
import { listQuery, pager } from './paging.js';

const dateText = (d: Date) => d.toISOString().slice(0, 10);

/** The "Requests to approve" section of "Connections": one page of pending requests, oldest first. */
export async function pendingRequestsModel(deps: ConsoleContext, req: Request, workspace: Workspace) {
  const list = listQuery(req, 'requests_');
  const { rows, total } = await deps.stores.approvalRequests.listPending(workspace.id, list);
  const ws = encodeURIComponent(workspace.id);
  return {
    pager: pager(req, '/connections', list, total, 'requests_'),
    rows: rows.map((r) => ({
      id: r.id,
      app: r.appName,
      email: r.personEmail,
      name: r.personName,
      requested: dateText(r.requestedAt),
      approveAction: `/connections/${ws}/approval-requests/${r.id}/approve`,
      declineAction: `/connections/${ws}/approval-requests/${r.id}/decline`,
    })),
  };
}

type Deps = ConsoleDeps & { approvalRequests: ApprovalRequestStore };

/**
 * Answers a pending request of this workspace. A request of another
 * workspace is not found; one already answered is a conflict (two owners
 * pressing at once: the first answer stands).
 */
export async function answerApprovalRequest(
  deps: Deps,
  workspace: Workspace,
  requestId: string,
  answer: 'approved' | 'declined',
  actor: Actor,
): Promise<void> {
  const found = await deps.approvalRequests.findById(requestId);
  if (!found || found.workspaceId !== workspace.id) throw new ConsoleError('not_found', 'No such request in this workspace.');
  const now = deps.clock.now();
  const decided = await deps.approvalRequests.decide(found.id, answer, actor.id, now);
  if (!decided) throw new ConsoleError('conflict', 'That request was already answered.');
  const app = await deps.partnerApps.findById(found.appId);
  const who = { type: actor.type, id: actor.id, label: actor.label };
  if (answer === 'approved' && (await deps.grants.approve(workspace.id, found.appId, actor.id, now))) {
    await deps.audit.record(
      {
        action: 'approved_app.added',
        actor: who,
        target: { type: 'partner_app', id: found.appId },
        workspaceId: workspace.id,
        address: actor.address,
        outcome: 'success',
        detail: { appName: app?.name ?? null, approvalRequestId: found.id },
      },
      now,
    );
  }
  await deps.audit.record(
    {
      action: answer === 'approved' ? 'approval_request.approved' : 'approval_request.declined',
      actor: who,
      target: { type: 'approval_request', id: found.id },
      workspaceId: workspace.id,
      address: actor.address,
      outcome: 'success',
      detail: { appId: found.appId, appName: app?.name ?? null, personId: found.personId },
    },
    now,
  );
}

const answerForm = z.object({ _csrf: z.string() }).strict();

function answerPage(answer: 'approved' | 'declined') {
  const verb = answer === 'approved' ? 'approve' : 'decline';
  return page(
    {
      zone: 'owner',
      name: answer === 'approved' ? 'approveRequestPage' : 'declineRequestPage',
      method: 'post',
      path: `/connections/:workspace_id/approval-requests/:request_id/${verb}`,
      summary: answer === 'approved' ? '"Approve" a member\'s request' : '"Decline" a member\'s request',
      params: ids('workspace_id', 'request_id'),
      body: answerForm,
      answer: 'redirect',
      audit: answer === 'approved' ? ['approval_request.approved', 'approved_app.added'] : 'approval_request.declined',
    },
    async ({ params }, { req, res }, deps) => {
      const workspace = await requireOwnerOf(deps.rules, pageCaller(req, deps), params.workspace_id);
      const back = `/connections?workspace=${encodeURIComponent(workspace.id)}`;
      try {
        await answerApprovalRequest(
          { ...deps.rules, approvalRequests: deps.stores.approvalRequests },
          workspace,
          params.request_id,
          answer,
          pageActor(req),
        );
      } catch (err) {
        if (err instanceof ConsoleError && err.code === 'conflict') return res.redirect(303, `${back}&error=request_answered`);
        throw err;
      }
      res.redirect(303, `${back}&notice=request_${answer}`);
    },
  );
}

export const approveRequestPage = answerPage('approved');
export const declineRequestPage = answerPage('declined');

/** "My connections": the person's requests and their answers. */
export async function myRequestsModel(stores: Pick<ConsoleContext['stores'], 'approvalRequests'>, personId: string) {
  const rows = await stores.approvalRequests.listForPerson(personId, 50);
  const words = { pending: 'Waiting for an owner', approved: 'Approved: you can connect it now', declined: 'Declined by an owner' };
  return rows.map((r) => ({
    app: r.appName,
    workspace: r.workspaceName,
    status: r.status,
    answer: words[r.status],
    requested: dateText(r.requestedAt),
    decided: r.decidedAt ? dateText(r.decidedAt) : null,
  }));
}
