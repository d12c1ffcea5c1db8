/**
 * The admin API's side of "members ask, owners decide": a workspace's
 * pending approval requests, and answering one, with the same rule and the
 * same audit as the "Approve" and "Decline" buttons on "Connections"
 * (./approval-requests.ts). Zone owner: a signed-in owner or an admin token.
 */
import { z } from 'zod';
import { requireOwnerOf } from '../connections.js';
import { answerApprovalRequest } from './approval-requests.js';
import { api, apiActor, apiCaller, ids } from './context.js';

const V1 = '/api/admin/v1';
const hidden = "Unknown, or not visible to the caller (another workspace's data never leaks)";
const MAX_LIMIT = 100;

const requestWireSchema = z.object({
  object: z.literal('approval_request'),
  id: z.string(),
  workspace_id: z.string(),
  app_id: z.string(),
  app_name: z.string(),
  person_id: z.string(),
  person_email: z.string(),
  status: z.enum(['pending', 'approved', 'declined']),
  requested_at: z.string(),
});
const requestListWireSchema = z.object({
  object: z.literal('list'),
  approval_requests: z.array(requestWireSchema),
  total: z.number().int(),
});
const answerWireSchema = z.object({ object: z.literal('approval_request'), id: z.string(), status: z.enum(['approved', 'declined']) });

export const listApprovalRequests = api(
  {
    zone: 'owner',
    name: 'listApprovalRequests',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/approval-requests`,
    summary: 'Pending requests of members for a partner app the approved list does not hold, oldest first (owners)',
    params: ids('workspace_id'),
    query: z
      .object({
        limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
        offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
      })
      .strict(),
    answer: requestListWireSchema,
    components: { answer: 'ApprovalRequestList' },
    audit: { none: 'a read' },
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async ({ params, query }, { res }, { rules, stores }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const { rows, total } = await stores.approvalRequests.listPending(workspace.id, {
      limit: query.limit ?? 25,
      offset: query.offset ?? 0,
    });
    return {
      object: 'list' as const,
      approval_requests: rows.map((r) => ({
        object: 'approval_request' as const,
        id: r.id,
        workspace_id: r.workspaceId,
        app_id: r.appId,
        app_name: r.appName,
        person_id: r.personId,
        person_email: r.personEmail,
        status: r.status,
        requested_at: r.requestedAt.toISOString(),
      })),
      total,
    };
  },
);

function answerOperation(answer: 'approved' | 'declined') {
  const verb = answer === 'approved' ? 'approve' : 'decline';
  return api(
    {
      zone: 'owner',
      name: answer === 'approved' ? 'approveApprovalRequest' : 'declineApprovalRequest',
      method: 'post',
      path: `${V1}/workspaces/:workspace_id/approval-requests/:request_id/${verb}`,
      summary:
        answer === 'approved'
          ? "Approve a member's request: the app joins the workspace's approved list (owners)"
          : "Decline a member's request: the app stays off the approved list (owners)",
      params: ids('workspace_id', 'request_id'),
      answer: answerWireSchema,
      components: { answer: 'ApprovalRequestAnswer' },
      audit: answer === 'approved' ? ['approval_request.approved', 'approved_app.added'] : 'approval_request.declined',
      refusals: { 404: hidden, 409: 'Already answered: the first answer stands' },
    },
    async ({ params }, { req, res }, deps) => {
      const workspace = await requireOwnerOf(deps.rules, apiCaller(res), params.workspace_id);
      await answerApprovalRequest(
        { ...deps.rules, approvalRequests: deps.stores.approvalRequests },
        workspace,
        params.request_id,
        answer,
        apiActor(req, res),
      );
      return { object: 'approval_request' as const, id: params.request_id, status: answer };
    },
  );
}

export const approveApprovalRequest = answerOperation('approved');
export const declineApprovalRequest = answerOperation('declined');
