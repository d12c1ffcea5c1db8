/**
 * The demo partner follows GATEHOUSE_PUBLIC_URL: a data folder first started
 * under one URL and started again under another keeps a working demo partner
 * (its redirect URI and website are the new URL's; its id and grants stay).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { createStores, type Stores } from '../../src/store/stores.js';
import { DEMO_PARTNER_CLIENT_ID, ensureDemoPartner } from '../../src/sandbox/partner/index.js';

describe('the demo partner across public URLs', () => {
  let handle: DatabaseHandle;
  let stores: Stores;
  const clock = new ManualClock();

  beforeAll(async () => {
    handle = await openDatabase({ kind: 'pglite', dataDir: null });
    await migrateToLatest(handle);
    stores = createStores(handle.db);
  });
  afterAll(async () => handle.close());

  it('is registered at first start, and its addresses move with the public URL at the next', async () => {
    await ensureDemoPartner({ publicUrl: 'http://localhost:3000', clientSecret: 'first-secret-0123456789', stores, clock });
    const first = (await stores.partnerApps.findByClientId(DEMO_PARTNER_CLIENT_ID))!;
    expect(first.redirectUris).toEqual(['http://localhost:3000/sandbox/partner/callback']);

    await ensureDemoPartner({ publicUrl: 'https://gatehouse.example', clientSecret: 'second-secret-0123456789', stores, clock });
    const again = (await stores.partnerApps.findByClientId(DEMO_PARTNER_CLIENT_ID))!;
    expect(again).toMatchObject({
      id: first.id,
      redirectUris: ['https://gatehouse.example/sandbox/partner/callback'],
      website: 'https://gatehouse.example/sandbox/partner',
    });
    expect(again.clientSecretHash).not.toBe(first.clientSecretHash);
    expect((await stores.partnerApps.list()).filter((app) => app.clientId === DEMO_PARTNER_CLIENT_ID)).toHaveLength(1);
  });
});
