/**
 * Closed-loop callers on a manual clock, for the fair-share tests: each
 * caller takes a reservation, waits for it, spends `latencyMs` at Notion and
 * takes again at once; a refused caller comes back after its Retry-After, as
 * @notionhq/client does. Events run in time order, one at a time, so a run
 * is deterministic for a given budget.
 */
import type { ManualClock } from '../../src/clock.js';
import type { RateBudget } from '../../src/upstream/rate-budget.js';

export interface CallerGroup {
  partner: string;
  callers: number;
  /** When this partner's callers stop taking (ms from the start); unset = never. */
  stopAtMs?: number;
}

export interface CallerRun {
  /** Start times (ms from the start) of granted calls, per partner. */
  starts: Map<string, number[]>;
  /** Waits of granted calls, per partner. */
  waits: Map<string, number[]>;
  refused: Map<string, number>;
}

export async function runCallers(args: {
  budget: RateBudget;
  clock: ManualClock;
  workspace: string;
  groups: CallerGroup[];
  durationMs: number;
  latencyMs?: number;
}): Promise<CallerRun> {
  const { budget, clock, workspace, groups, durationMs } = args;
  const latency = args.latencyMs ?? 20;
  const t0 = clock.now().getTime();
  const run: CallerRun = { starts: new Map(), waits: new Map(), refused: new Map() };
  // Each caller is an event at a time; the earliest runs next (ties in a fixed order).
  const events: Array<{ at: number; group: CallerGroup; id: number }> = [];
  let id = 0;
  for (const group of groups) {
    run.starts.set(group.partner, []);
    run.waits.set(group.partner, []);
    run.refused.set(group.partner, 0);
    for (let c = 0; c < group.callers; c++) events.push({ at: 0, group, id: (id += 1) });
  }
  for (;;) {
    events.sort((a, b) => a.at - b.at || a.id - b.id);
    const event = events.shift();
    if (!event || event.at >= durationMs) break;
    const { group } = event;
    if (group.stopAtMs !== undefined && event.at >= group.stopAtMs) continue;
    clock.set(new Date(t0 + event.at));
    const verdict = await budget.take(workspace, group.partner);
    if (verdict.allowed) {
      run.starts.get(group.partner)!.push(event.at + verdict.waitMs);
      run.waits.get(group.partner)!.push(verdict.waitMs);
      events.push({ ...event, at: event.at + verdict.waitMs + latency });
    } else {
      run.refused.set(group.partner, run.refused.get(group.partner)! + 1);
      events.push({ ...event, at: event.at + verdict.retryAfterSeconds * 1000 });
    }
  }
  clock.set(new Date(t0 + durationMs));
  return run;
}

/** Calls started per second by each partner within [fromMs, toMs). */
export function ratesBetween(run: CallerRun, fromMs: number, toMs: number): Map<string, number> {
  const rates = new Map<string, number>();
  for (const [partner, starts] of run.starts) {
    rates.set(partner, (starts.filter((s) => s >= fromMs && s < toMs).length * 1000) / (toMs - fromMs));
  }
  return rates;
}

export function jainIndex(values: number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}
