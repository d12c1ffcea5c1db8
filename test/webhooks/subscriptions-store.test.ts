/**
 * The webhook subscription store's contract, on PGlite and on PostgreSQL (a
 * schema of its own): secrets stored as the caller's ciphertexts only and
 * bound to their row, compare-and-set status changes that a race cannot
 * double, rotation keeping the previous secret until its expiry, the pending
 * reason kept only while pending, the failing run, filters, deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../../src/crypto/keyring.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { createStores, type Stores } from '../../src/store/stores.js';
import {
  decryptSubscriptionSecret,
  encryptSubscriptionSecret,
  generateSigningSecret,
  generateVerificationToken,
  readSubscriptionSecrets,
  reencryptSubscriptionSecrets,
} from '../../src/webhooks/secrets.js';
import { dropSchema, POSTGRES_URL, uniqueName } from '../support/databases.js';

const T0 = new Date('2026-11-01T10:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const keyring = new Keyring([k1]);

describe.each([['pglite'], ['postgres']] as const)('webhook subscriptions store on %s', (kind) => {
  let handle: DatabaseHandle;
  let stores: Stores;
  let appId: string;
  let otherAppId: string;
  const schema = uniqueName('subs');

  const newApp = async (clientId: string) =>
    (
      await stores.partnerApps.create(
        {
          clientId,
          clientSecretHash: null,
          name: clientId,
          website: null,
          supportContact: null,
          logo: null,
          redirectUris: ['https://partner.example/cb'],
          capabilities: ['read_content', 'no_user_info'],
          builtByOrganisation: false,
          clientType: 'public',
          createdBy: null,
        },
        T0,
      )
    ).id;
  const subscribe = async (app: string, events: string[], token = generateVerificationToken(), secret = generateSigningSecret()) =>
    stores.webhookSubscriptions.create(
      {
        appId: app,
        url: 'https://partner.example/hooks',
        events,
        encrypt: (id) => ({
          verificationTokenCiphertext: encryptSubscriptionSecret(keyring, id, token),
          signingSecretCiphertext: encryptSubscriptionSecret(keyring, id, secret),
        }),
      },
      T0,
    );

  beforeAll(async () => {
    handle =
      kind === 'pglite'
        ? await openDatabase({ kind: 'pglite', dataDir: null })
        : await openDatabase({ kind: 'postgres', url: POSTGRES_URL, schema });
    await migrateToLatest(handle, kind === 'postgres' ? schema : undefined);
    stores = createStores(handle.db);
    appId = await newApp('store-app');
    otherAppId = await newApp('store-other');
  });
  afterAll(async () => {
    await handle.close();
    if (kind === 'postgres') await dropSchema(schema);
  });

  it('creates a pending subscription whose secrets are ciphertexts bound to its id', async () => {
    const token = generateVerificationToken();
    const secret = generateSigningSecret();
    const created = await subscribe(appId, ['page.created', 'comment.created'], token, secret);
    expect(created).toMatchObject({ appId, status: 'pending', events: ['page.created', 'comment.created'], disabledReason: null });
    const stored = await stores.webhookSubscriptions.secretsOf(created.id);
    expect(stored!.verificationTokenCiphertext).not.toContain(token);
    expect(decryptSubscriptionSecret(keyring, created.id, stored!.verificationTokenCiphertext)).toBe(token);
    expect(await readSubscriptionSecrets({ store: stores.webhookSubscriptions, keyring }, created.id, T0)).toEqual({
      verificationToken: token,
      signingSecrets: [secret],
    });
    // Copied into another row, a ciphertext does not decrypt there.
    const other = await subscribe(appId, ['page.moved']);
    expect(() => decryptSubscriptionSecret(keyring, other.id, stored!.verificationTokenCiphertext)).toThrow();
    expect(await stores.webhookSubscriptions.findById('not-a-uuid')).toBeNull();
    expect(await stores.webhookSubscriptions.secretsOf('not-a-uuid')).toBeNull();
  });

  it('keeps the reason of a failed verification POST only while pending', async () => {
    const s = await subscribe(appId, ['page.deleted']);
    expect(await stores.webhookSubscriptions.setPendingReason(s.id, 'The webhook URL did not answer within 10 s.', later(1))).toBe(true);
    expect((await stores.webhookSubscriptions.findById(s.id))!.disabledReason).toBe('The webhook URL did not answer within 10 s.');
    expect(await stores.webhookSubscriptions.setStatus(s.id, ['pending'], 'active', later(2), { verifiedAt: later(2) })).toBe(true);
    const active = await stores.webhookSubscriptions.findById(s.id);
    expect(active).toMatchObject({ status: 'active', disabledReason: null, verifiedAt: later(2) });
    expect(await stores.webhookSubscriptions.setPendingReason(s.id, 'late', later(3))).toBe(false);
    expect((await stores.webhookSubscriptions.findById(s.id))!.disabledReason).toBeNull();
  });

  it('lets exactly one of two racing verifications move pending to active', async () => {
    const s = await subscribe(appId, ['page.locked']);
    const results = await Promise.all([
      stores.webhookSubscriptions.setStatus(s.id, ['pending'], 'active', later(5), { verifiedAt: later(5) }),
      stores.webhookSubscriptions.setStatus(s.id, ['pending'], 'active', later(5), { verifiedAt: later(5) }),
    ]);
    expect(results.sort()).toEqual([false, true]);
    expect(await stores.webhookSubscriptions.setStatus(s.id, ['pending'], 'disabled', later(6))).toBe(false);
    expect(await stores.webhookSubscriptions.setStatus(s.id, ['active'], 'disabled', later(6), { disabledReason: 'answered 410' })).toBe(
      true,
    );
    expect(await stores.webhookSubscriptions.setStatus(s.id, ['disabled'], 'pending', later(7), { disabledReason: null })).toBe(true);
    expect((await stores.webhookSubscriptions.findById(s.id))!).toMatchObject({ status: 'pending', disabledReason: null });
  });

  it('rotates: the previous secret signs until its expiry, then only the new one', async () => {
    const first = generateSigningSecret();
    const s = await subscribe(appId, ['comment.updated'], generateVerificationToken(), first);
    const next = generateSigningSecret();
    const until = later(24 * 3600_000);
    expect(
      await stores.webhookSubscriptions.rotateSigningSecret(s.id, encryptSubscriptionSecret(keyring, s.id, next), until, later(1)),
    ).toBe(true);
    const deps = { store: stores.webhookSubscriptions, keyring };
    expect((await readSubscriptionSecrets(deps, s.id, later(1000)))!.signingSecrets).toEqual([next, first]);
    expect((await readSubscriptionSecrets(deps, s.id, until))!.signingSecrets).toEqual([next]);
    expect(await stores.webhookSubscriptions.rotateSigningSecret('00000000-0000-4000-8000-000000000000', 'x', until, T0)).toBe(false);
  });

  it('lists by app and the active ones wanting an event type; records a failing run; deletes', async () => {
    const mine = await stores.webhookSubscriptions.listForApp(appId);
    expect(mine.length).toBeGreaterThan(0);
    expect(await stores.webhookSubscriptions.listForApp(otherAppId)).toEqual([]);
    const active = await subscribe(otherAppId, ['page.created']);
    await stores.webhookSubscriptions.setStatus(active.id, ['pending'], 'active', later(1));
    expect((await stores.webhookSubscriptions.listActiveFor([otherAppId], 'page.created')).map((s) => s.id)).toEqual([active.id]);
    expect(await stores.webhookSubscriptions.listActiveFor([otherAppId], 'page.moved')).toEqual([]);
    await stores.webhookSubscriptions.recordOutcome(active.id, false, later(10));
    await stores.webhookSubscriptions.recordOutcome(active.id, false, later(20));
    expect((await stores.webhookSubscriptions.findById(active.id))!.failingSince).toEqual(later(10));
    await stores.webhookSubscriptions.recordOutcome(active.id, true, later(30));
    expect((await stores.webhookSubscriptions.findById(active.id))!.failingSince).toBeNull();
    expect(await stores.webhookSubscriptions.delete(active.id)).toBe(true);
    expect(await stores.webhookSubscriptions.delete(active.id)).toBe(false);
    expect(await stores.webhookSubscriptions.findById(active.id)).toBeNull();
  });

  it('re-encrypts every secret under a new key, so the old key can go; an unreadable one is reported', async () => {
    const token = generateVerificationToken();
    const rotated = await subscribe(appId, ['page.unlocked'], token);
    await stores.webhookSubscriptions.rotateSigningSecret(
      rotated.id,
      encryptSubscriptionSecret(keyring, rotated.id, generateSigningSecret()),
      later(3600_000),
      T0,
    );
    const broken = await subscribe(appId, ['page.undeleted']);
    const foreign = new Keyring([{ id: 'k1', key: randomBytes(32) }]).encrypt('x', `webhook_subscription:${broken.id}`);
    await handle.db.updateTable('webhook_subscriptions').set({ signing_secret_ciphertext: foreign }).where('id', '=', broken.id).execute();
    const both = new Keyring([k2, k1]);
    const result = await reencryptSubscriptionSecrets(both, stores.webhookSubscriptions);
    expect(result.unreadable).toEqual([broken.id]);
    expect(result.reencrypted).toBeGreaterThan(3);
    expect(await reencryptSubscriptionSecrets(both, stores.webhookSubscriptions)).toMatchObject({
      reencrypted: 0,
      unreadable: [broken.id],
    });
    const onlyNew = new Keyring([k2]);
    const secrets = await readSubscriptionSecrets({ store: stores.webhookSubscriptions, keyring: onlyNew }, rotated.id, later(1));
    expect(secrets!.verificationToken).toBe(token);
    expect(secrets!.signingSecrets).toHaveLength(2);
  });
});
