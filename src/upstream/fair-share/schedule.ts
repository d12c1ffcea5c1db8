/**
 * The arithmetic of the fair share, one decision at a time, as plain data so
 * that the Redis script (redis-script.ts) can mirror it line for line and the
 * tests can hold the two against each other.
 *
 * Start-time fair queueing on a calendar of GCRA slots
 * ----------------------------------------------------
 * Time is cut into slots of one interval i = 1 s / rate, counted from the
 * workspace's origin; each slot holds at most one start. A partner p with
 * weight w_p carries a virtual start tag F_p, in slots (a virtual clock):
 *
 *   slot:   -4 -3 -2 -1  0  1  2  3  4  5  6  7  8      (cur = 0, burst b = 5)
 *           [ credit  ]  ^cur
 *   A (8 callers)        A        A        A            tags 3 apart
 *   B (2 callers)           B        B        B
 *   C (1 caller)               C        C        C      C's slots stay free
 *
 *   busy    = F_q > cur, or a call still waiting  W = Σ w_q (busy, p included)
 *   d_p     = W / w_p                            p's spacing: its share is w_p / W
 *   S       = max(F_p, cur)                      never behind the clock
 *   refuse  when S − cur > 2 d_p + (b − 1) / d_p p is too far ahead of its share
 *   k       = first free slot ≥ ⌈S⌉ − (b − 1)    unused recent slots: start now
 *             but a future slot before ⌈S⌉ is skipped for ⌈S⌉ onwards
 *             (unless p is alone), and never before Notion's Retry-After
 *   refuse  when k starts more than maxWait from now
 *   grant:  slot k taken, F_p = S + d_p
 *
 * Why it is fair. Each grant moves p's tag on by d_p = W / w_p slots, and a
 * partner never takes a future slot before its tag, so a busy partner starts
 * at most one call per d_p slots: rate × w_p / W, its weighted share. The
 * busy partners' shares add up to the whole rate, so their tags together
 * cover every slot once, and a partner with one caller finds its own slots
 * free instead of queueing behind a partner with many: its call starts within
 * about d_p slots (one interval of its share). A partner that asks for less
 * is not busy (its tag falls behind the clock), leaves W, and the others'
 * spacing shrinks at their next call: work-conserving. A partner that stops
 * is out of W one spacing after its last tag. Among partners that all want
 * more than an equal part, each gets rate / n (with equal weights) and the
 * ones that want less get what they ask: max-min fairness.
 *
 * Tags never lag the clock: a partner that waited behind earlier bookings
 * does not carry the lag forward, which would put it at the end of whatever
 * is booked, first come first served, where the partner with more callers
 * outnumbers the one with fewer. The burst (Notion allows some) is the b − 1
 * unused slots before the clock: they start at once, for whoever comes.
 *
 * The lead of 2 d_p bounds how far ahead of the clock one partner may book:
 * the call at hand and the next, so a caller that takes again as soon as its
 * call ends is never refused (its tag is at most d_p ahead then), while a
 * partner with many callers holds about two of its own slots ahead and a
 * newcomer's call starts within about two of the others' spacings, never
 * behind a whole queue. Its other callers are refused with a Retry-After.
 * Each partner may also book its part (w_p / W) of the burst ahead: all of
 * it when alone.
 *
 * When nothing is booked and no tag is ahead of the credit window, the
 * calendar restarts at the caller's now, so an idle workspace's burst starts
 * at once and the slot phase does not depend on history.
 */

export interface FairShareSettings {
  ratePerSecond: number;
  burst: number;
  maxWaitMs: number;
}

export interface PartnerTag {
  /** Virtual start of its next call, in slots from the origin. */
  tag: number;
  weight: number;
  /** The last slot this partner took: a partner with a call still waiting is busy whatever its tag says. */
  booked: number;
}

/** One workspace's schedule; the Redis script keeps the same fields in a hash and a sorted set. */
export interface WorkspaceSchedule {
  /** When slot 0 starts, in ms; null before the first reservation. */
  origin: number | null;
  blockedUntil: number;
  /** Slots taken, ascending; those before the credit window are dropped. */
  slots: number[];
  partners: Map<string, PartnerTag>;
}

export type TakeDecision =
  { allowed: true; waitMs: number; slot: number } | { allowed: false; waitMs: number; reason: 'ahead-of-share' | 'max-wait' };

export function emptySchedule(): WorkspaceSchedule {
  return { origin: null, blockedUntil: 0, slots: [], partners: new Map() };
}

/** Tags are compared with a little slack, as stored (six decimals), so that sums of fractional spacings do not miss a slot. */
const EPSILON = 1e-6;

/** How the Redis script stores a number (`%.6f`): both sides round alike, so they decide alike. */
export function stored(value: number): number {
  return Number(value.toFixed(6));
}

/** Decides one reservation for `partner` at `now` (ms) and applies it to `schedule`. */
export function takeSlot(
  schedule: WorkspaceSchedule,
  now: number,
  partner: string,
  weight: number,
  settings: FairShareSettings,
): TakeDecision {
  weight = stored(weight);
  const interval = 1000 / settings.ratePerSecond;
  const credit = settings.burst - 1;
  if (schedule.origin === null) schedule.origin = now;
  let cur = Math.floor((now - schedule.origin) / interval);
  pruneBefore(schedule, cur - credit);
  if (schedule.slots.length === 0 && schedule.partners.size === 0) {
    schedule.origin = now;
    cur = 0;
  }
  const origin = schedule.origin;
  const floorSlot = cur - credit;

  let busyWeight = 0;
  for (const [key, entry] of schedule.partners) if (key !== partner && isBusy(entry, cur)) busyWeight += entry.weight;
  const alone = busyWeight === 0;
  busyWeight += weight;
  const spacing = busyWeight / weight;
  const start = Math.max(schedule.partners.get(partner)?.tag ?? cur, cur);
  const lead = 2 * spacing + credit / spacing;
  if (start - cur > lead + EPSILON) {
    return { allowed: false, waitMs: Math.ceil(origin + (start - lead) * interval - now), reason: 'ahead-of-share' };
  }

  const own = Math.ceil(start - EPSILON);
  const notBefore = schedule.blockedUntil > now ? Math.floor((schedule.blockedUntil - origin) / interval) : floorSlot;
  // The burst: an unused slot of the credit window starts now, up to b − 1 of the partner's slots early.
  let slot = firstFree(schedule.slots, Math.max(own - credit, notBefore));
  // Never a future slot before the partner's own: that one belongs to a partner whose turn comes first.
  if (!alone && slot > cur && slot < own) slot = firstFree(schedule.slots, Math.max(own, notBefore));
  const startsAt = Math.max(now, origin + slot * interval, schedule.blockedUntil);
  const wait = startsAt - now;
  if (wait > settings.maxWaitMs) return { allowed: false, waitMs: Math.ceil(wait), reason: 'max-wait' };

  insertSorted(schedule.slots, slot);
  schedule.partners.set(partner, { tag: stored(start + spacing), weight, booked: slot });
  return { allowed: true, waitMs: Math.ceil(wait), slot };
}

/** Notion said 429: nobody starts before `seconds` from now. */
export function blockSchedule(schedule: WorkspaceSchedule, now: number, seconds: number): void {
  schedule.blockedUntil = Math.max(schedule.blockedUntil, now + seconds * 1000);
}

/** Slots before the credit window can no longer be used, tags there say nothing more than the window's start. */
function pruneBefore(schedule: WorkspaceSchedule, floorSlot: number): void {
  let drop = 0;
  while (drop < schedule.slots.length && schedule.slots[drop]! < floorSlot) drop += 1;
  if (drop) schedule.slots.splice(0, drop);
  for (const [key, entry] of schedule.partners) {
    if (entry.tag <= floorSlot + EPSILON && entry.booked < floorSlot) schedule.partners.delete(key);
  }
}

/** Busy: its virtual time is ahead of the clock, or one of its calls is still waiting for its slot. */
function isBusy(entry: PartnerTag, cur: number): boolean {
  return entry.tag > cur + EPSILON || entry.booked > cur;
}

function firstFree(slots: number[], from: number): number {
  let slot = from;
  for (const taken of slots) {
    if (taken < slot) continue;
    if (taken > slot) break;
    slot += 1;
  }
  return slot;
}

function insertSorted(slots: number[], slot: number): void {
  let at = slots.length;
  while (at > 0 && slots[at - 1]! > slot) at -= 1;
  slots.splice(at, 0, slot);
}
