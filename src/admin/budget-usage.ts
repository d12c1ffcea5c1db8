/**
 * "Connections": who spent the workspace's Notion budget in the last hour, by
 * name, as a small view model. Partners are keyed by app id in the budget;
 * Gatehouse's own indexing and member sync spend it as "gatehouse".
 */
import type { Logger } from 'pino';
import type { PartnerAppStore } from '../store/partner-apps.js';
import type { PartnerUsage } from '../upstream/rate-budget.js';

export interface BudgetUsageRow {
  name: string;
  requests: number;
  share: string;
}

/** Null when the budget does not say (not configured, or unavailable: the page still renders). */
export async function budgetUsageRows(
  deps: {
    budgetUsage?: (workspaceId: string) => Promise<PartnerUsage[]>;
    stores: { partnerApps: Pick<PartnerAppStore, 'findById'> };
    logger: Pick<Logger, 'warn'>;
  },
  workspaceId: string,
  apps: Array<{ id: string; name: string }>,
): Promise<BudgetUsageRow[] | null> {
  if (!deps.budgetUsage) return null;
  const usage = await deps.budgetUsage(workspaceId).catch((err: unknown) => {
    deps.logger.warn({ err }, 'budget usage unavailable');
    return null;
  });
  if (!usage) return null;
  const nameOf = async (partnerKey: string) =>
    partnerKey === 'gatehouse'
      ? 'Gatehouse (page index and members)'
      : (apps.find((a) => a.id === partnerKey)?.name ?? (await deps.stores.partnerApps.findById(partnerKey))?.name ?? 'A removed app');
  return Promise.all(
    usage.map(async (u) => ({ name: await nameOf(u.partnerKey), requests: u.granted, share: `${Math.round(u.share * 100)}%` })),
  );
}
