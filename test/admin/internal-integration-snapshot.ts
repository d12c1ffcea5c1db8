/**
 * What a refused internal-integration action must leave as it was: the apps
 * with their token columns, the connected pages, the grants and the number
 * of audit events.
 */
import type { TestGatehouse } from '../support/harness.js';

type Db = TestGatehouse['gatehouse']['database']['db'];

export async function everythingAnActionCouldChange(db: Db) {
  return {
    apps: await db
      .selectFrom('partner_apps')
      .select(['id', 'integration_kind', 'client_id', 'internal_token_hash', 'internal_token_ciphertext', 'name'])
      .orderBy('id')
      .execute(),
    pages: await db.selectFrom('internal_integration_pages').selectAll().orderBy('app_id').orderBy('page_id').execute(),
    grants: await db.selectFrom('grants').select(['id', 'page_ids', 'status']).orderBy('id').execute(),
    audit: Number(
      (
        await db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  };
}
