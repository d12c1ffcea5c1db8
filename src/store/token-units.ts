/**
 * The token path's units of work. Each spends a code or a refresh token and
 * stores what replaces it (the new pair, the audit events) in ONE database
 * transaction, so an instance that dies or a write that fails half-way
 * leaves the code or refresh token unspent and the partner's retry wins:
 *
 *   redeemCode          BEGIN ── consume the code (conditional UPDATE) ─┬─ won:  insert the pair, audit ── COMMIT
 *                       (the winning path is one statement, ./token-queries.ts: BEGIN, it, COMMIT)
 *                                                                       └─ lost: revoke what it issued, audit code.replayed ── COMMIT
 *
 *   rotateRefreshToken  BEGIN ── mark it used (conditional UPDATE) ─┬─ won: insert the successor pair, audit ── COMMIT
 *                                                                   ├─ lost answer: spent less than `graceMs` ago and its successor
 *                                                                   │  pair never used: revoke that pair, insert a fresh one, audit
 *                                                                   └─ otherwise reuse: revoke the family, audit refresh.reused ── COMMIT
 *
 *   revokeFamily, revokeGrant   every UPDATE of the cascade and its audit event in one transaction.
 *
 * The conditional UPDATE holds the row lock until COMMIT: a concurrent
 * attempt on another instance waits, then sees the outcome (one winner). A
 * killed instance's transaction is rolled back by PostgreSQL when its
 * connection drops. Inside a transaction only `trx` is used: PGlite has one
 * connection, and a query on `db` there would wait for the transaction forever.
 *
 * The winning path of redeemCode and rotateRefreshToken is a single statement,
 * atomic in PostgreSQL on its own: it runs without BEGIN/COMMIT (two round
 * trips fewer), and only a lost spend opens the transaction above. While a
 * crash test holds a step (./pause-point.ts), the whole unit runs in the
 * transaction instead, so the steps between its writes exist to be killed at.
 */
import type { Kysely, Transaction } from 'kysely';
import { auditStore, type AuditEvent } from './audit.js';
import { grantStore, type Revocation } from './grants.js';
import { pausePoint, pausesArmed } from './pause-point.js';
import { spendAndIssue } from './token-queries.js';
import type { Database } from './schema.js';

type Trx = Transaction<Database>;

/** A pair about to be given out, by hash only. */
export interface NewPair {
  accessTokenHash: string;
  refreshTokenHash: string;
  familyId: string;
  grantId: string;
  appId: string;
  capabilities: string[];
  accessExpiresAt: Date;
  absoluteExpiresAt: Date;
  /** RFC 8707 audience of both tokens; null/absent = the Notion API proxy. */
  resource?: string | null;
}

export interface RevokedCount {
  accessTokens: number;
  refreshTokens: number;
}

export type RedeemOutcome = { kind: 'issued' } | { kind: 'replayed'; revoked: RevokedCount };

export type RotateOutcome =
  | { kind: 'rotated' }
  /** The answer of the rotation was lost: the pair it gave (never used) is revoked and a fresh one issued. */
  | { kind: 'replaced'; revoked: RevokedCount }
  | { kind: 'reused'; revoked: RevokedCount };

export interface TokenUnits {
  redeemCode(args: {
    codeHash: string;
    pair: NewPair;
    now: Date;
    issued: AuditEvent[];
    replayed: (revoked: RevokedCount) => AuditEvent;
  }): Promise<RedeemOutcome>;
  /** A code already spent, presented again: what it issued is revoked and the replay audited, at once. */
  revokeReplayedCode(codeHash: string, now: Date, replayed: (revoked: RevokedCount) => AuditEvent): Promise<RevokedCount>;
  rotateRefreshToken(args: {
    tokenHash: string;
    pair: NewPair;
    now: Date;
    /** How long after a rotation a retry with the same token may replace its unused answer; 0: never. */
    graceMs: number;
    audit: (outcome: RotateOutcome) => AuditEvent | null;
  }): Promise<RotateOutcome>;
  /** A refresh token's family and the access tokens it issued, with the audit event, at once. */
  revokeFamily(familyId: string, now: Date, audit?: AuditEvent | null): Promise<RevokedCount>;
  /** The grant's status, its codes and tokens, and the audit event (when it was active), at once: true when this call revoked it. */
  revokeGrant(grantId: string, revocation: Revocation, now: Date, audit: AuditEvent | null): Promise<boolean>;
}

const none = (): RevokedCount => ({ accessTokens: 0, refreshTokens: 0 });
const add = (a: RevokedCount, b: RevokedCount): RevokedCount => ({
  accessTokens: a.accessTokens + b.accessTokens,
  refreshTokens: a.refreshTokens + b.refreshTokens,
});

async function insertPair(trx: Trx, pair: NewPair, from: { codeHash: string | null; parentHash: string | null }, now: Date) {
  const capabilities = JSON.stringify(pair.capabilities);
  await trx
    .insertInto('refresh_tokens')
    .values({
      token_hash: pair.refreshTokenHash,
      family_id: pair.familyId,
      grant_id: pair.grantId,
      app_id: pair.appId,
      code_hash: from.codeHash,
      parent_hash: from.parentHash,
      capabilities,
      absolute_expires_at: pair.absoluteExpiresAt,
      used_at: null,
      revoked_at: null,
      created_at: now,
      resource: pair.resource ?? null,
    })
    .execute();
  await trx
    .insertInto('access_tokens')
    .values({
      token_hash: pair.accessTokenHash,
      grant_id: pair.grantId,
      app_id: pair.appId,
      refresh_token_hash: pair.refreshTokenHash,
      code_hash: from.codeHash,
      capabilities,
      expires_at: pair.accessExpiresAt,
      revoked_at: null,
      created_at: now,
      resource: pair.resource ?? null,
    })
    .execute();
}

async function revokeFamilyIn(trx: Trx, familyId: string, now: Date): Promise<RevokedCount> {
  const refresh = await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const access = await trx
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('revoked_at', 'is', null)
    .where('refresh_token_hash', 'in', trx.selectFrom('refresh_tokens').select('token_hash').where('family_id', '=', familyId))
    .executeTakeFirst();
  return { accessTokens: Number(access.numUpdatedRows), refreshTokens: Number(refresh.numUpdatedRows) };
}

/** RFC 6749 §4.1.2: a replayed code SHOULD revoke every token issued from it; counted as really revoked. */
async function revokeIssuedFromCode(trx: Trx, codeHash: string, now: Date): Promise<RevokedCount> {
  let revoked = none();
  const families = await trx.selectFrom('refresh_tokens').select('family_id').where('code_hash', '=', codeHash).execute();
  for (const { family_id } of families) revoked = add(revoked, await revokeFamilyIn(trx, family_id, now));
  const access = await trx
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('code_hash', '=', codeHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return add(revoked, { accessTokens: Number(access.numUpdatedRows), refreshTokens: 0 });
}

/**
 * The pair a rotation of `parentHash` gave out, revoked if and only if it
 * was never used: its refresh token never rotated and its access token never
 * presented (the proxy and introspection record a first use). Rows are locked
 * so a first use racing with this either lands first (no replacement) or
 * sees the token revoked.
 */
async function revokeUnusedSuccessor(trx: Trx, parentHash: string, now: Date): Promise<RevokedCount | null> {
  const successor = await trx
    .selectFrom('refresh_tokens')
    .select(['token_hash', 'used_at'])
    .where('parent_hash', '=', parentHash)
    .where('revoked_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!successor || successor.used_at !== null) return null;
  const access = await trx
    .selectFrom('access_tokens')
    .select(['first_used_at', 'revoked_at'])
    .where('refresh_token_hash', '=', successor.token_hash)
    .forUpdate()
    .execute();
  if (access.some((row) => row.first_used_at !== null)) return null;
  await trx.updateTable('refresh_tokens').set({ revoked_at: now }).where('token_hash', '=', successor.token_hash).execute();
  const revokedAccess = await trx
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('refresh_token_hash', '=', successor.token_hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return { accessTokens: Number(revokedAccess.numUpdatedRows), refreshTokens: 1 };
}

export function tokenUnits(db: Kysely<Database>): TokenUnits {
  const units: TokenUnits = {
    async redeemCode({ codeHash, pair, now, issued, replayed }) {
      if (!pausesArmed()) {
        if (await spendAndIssue(db, 'code', { spentHash: codeHash, pair, now, audit: issued })) return { kind: 'issued' };
        return { kind: 'replayed', revoked: await units.revokeReplayedCode(codeHash, now, replayed) };
      }
      const outcome = await db.transaction().execute(async (trx): Promise<RedeemOutcome> => {
        // The spend, the pair and the audit events: one statement (./token-queries.ts), still before COMMIT.
        if (!(await spendAndIssue(trx, 'code', { spentHash: codeHash, pair, now, audit: issued }))) {
          const revoked = await revokeIssuedFromCode(trx, codeHash, now);
          await auditStore(trx).record(replayed(revoked), now);
          return { kind: 'replayed', revoked };
        }
        await pausePoint('code.consumed');
        await pausePoint('code.issued');
        await pausePoint('code.audited');
        return { kind: 'issued' };
      });
      if (outcome.kind === 'issued') await pausePoint('code.committed');
      return outcome;
    },

    async revokeReplayedCode(codeHash, now, replayed) {
      return db.transaction().execute(async (trx) => {
        const revoked = await revokeIssuedFromCode(trx, codeHash, now);
        await auditStore(trx).record(replayed(revoked), now);
        return revoked;
      });
    },

    async rotateRefreshToken({ tokenHash, pair, now, graceMs, audit }) {
      const rotated = audit({ kind: 'rotated' });
      const spend = (executor: Kysely<Database>) =>
        spendAndIssue(executor, 'refresh', { spentHash: tokenHash, pair, now, audit: rotated ? [rotated] : [] });
      const held = pausesArmed();
      if (!held && (await spend(db))) return { kind: 'rotated' };
      const outcome = await db.transaction().execute(async (trx): Promise<RotateOutcome> => {
        const record = async (result: RotateOutcome) => {
          const event = audit(result);
          if (event) await auditStore(trx).record(event, now);
          return result;
        };
        if (held && (await spend(trx))) {
          await pausePoint('refresh.used');
          await pausePoint('refresh.issued');
          await pausePoint('refresh.audited');
          return { kind: 'rotated' };
        }
        const spent = await trx
          .selectFrom('refresh_tokens')
          .select(['family_id', 'used_at', 'revoked_at'])
          .where('token_hash', '=', tokenHash)
          .forUpdate()
          .executeTakeFirst();
        if (!spent) return { kind: 'reused', revoked: none() };
        const withinGrace = spent.revoked_at === null && spent.used_at !== null && now.getTime() - spent.used_at.getTime() < graceMs;
        if (withinGrace) {
          const revoked = await revokeUnusedSuccessor(trx, tokenHash, now);
          if (revoked) {
            // The new pair hangs off the same spent token: a further retry in the window finds it as the successor.
            await insertPair(trx, pair, { codeHash: null, parentHash: tokenHash }, now);
            return record({ kind: 'replaced', revoked });
          }
        }
        // RFC 9700 §4.14.2: reuse of a rotated (or replaced) refresh token revokes the whole family.
        const revoked = await revokeFamilyIn(trx, spent.family_id, now);
        const result: RotateOutcome = { kind: 'reused', revoked };
        // A token of a family already revoked in full is refused quietly: nothing new happened.
        if (spent.revoked_at === null || revoked.accessTokens + revoked.refreshTokens > 0) await record(result);
        return result;
      });
      if (outcome.kind !== 'reused') await pausePoint('refresh.committed');
      return outcome;
    },

    async revokeFamily(familyId, now, audit = null) {
      return db.transaction().execute(async (trx) => {
        const revoked = await revokeFamilyIn(trx, familyId, now);
        if (audit) await auditStore(trx).record(audit, now);
        return revoked;
      });
    },

    async revokeGrant(grantId, revocation, now, audit) {
      return db.transaction().execute(async (trx) => {
        // Status first: from this UPDATE on, every check refuses the grant's tokens.
        const revoked = await grantStore(trx).revoke(grantId, revocation, now);
        await trx
          .updateTable('authorization_codes')
          .set({ consumed_at: now })
          .where('grant_id', '=', grantId)
          .where('consumed_at', 'is', null)
          .execute();
        await trx
          .updateTable('access_tokens')
          .set({ revoked_at: now })
          .where('grant_id', '=', grantId)
          .where('revoked_at', 'is', null)
          .execute();
        await trx
          .updateTable('refresh_tokens')
          .set({ revoked_at: now })
          .where('grant_id', '=', grantId)
          .where('revoked_at', 'is', null)
          .execute();
        if (revoked && audit) await auditStore(trx).record(audit, now);
        return revoked;
      });
    },
  };
  return units;
}
