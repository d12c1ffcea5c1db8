/**
 * `keys rotate`: re-encrypt every stored upstream credential under the
 * current (first) key, so an old key can then be dropped from
 * GATEHOUSE_ENCRYPTION_KEYS. Each row is swapped by compare-and-swap on its
 * version, so a concurrent refresh is never overwritten with an old value.
 * Internal integration tokens (AAD `partner_app:<id>`) are re-encrypted too,
 * each by compare-and-swap on the old ciphertext. A value that no configured
 * key decrypts (its key was dropped, or it was tampered with) cannot be
 * re-encrypted: it is reported by id and the rotation goes on with the rest.
 */
import type { Clock } from '../clock.js';
import { DecryptionError, type Keyring } from '../crypto/keyring.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WebhookEventStore } from '../store/webhook-events.js';
import type { WebhookSubscriptionStore } from '../store/webhook-subscriptions.js';
import { reencryptSubscriptionSecrets } from '../webhooks/secrets.js';
import { intakeAad } from '../webhooks/intake.js';

export interface RotationResult {
  keyId: string;
  reencrypted: number;
  alreadyCurrent: number;
  /** Values no configured key decrypts: their connections must be reconnected, their integrations' tokens replaced. */
  unreadable: Array<{ type: 'upstream_connection' | 'internal_integration' | 'webhook_subscription' | 'webhook_intake'; id: string }>;
}

/** Re-encrypts under the current key, or null when no configured key decrypts the value. */
function reencrypt(keyring: Keyring, ciphertext: string, aad: string): string | null {
  try {
    return keyring.encrypt(keyring.decrypt(ciphertext, aad), aad);
  } catch (err) {
    if (err instanceof DecryptionError) return null;
    throw err;
  }
}

export async function rotateKeys(deps: {
  keyring: Keyring;
  connections: UpstreamConnectionStore;
  clock: Clock;
  internalIntegrations?: InternalIntegrationStore;
  webhookSubscriptions?: Pick<WebhookSubscriptionStore, 'listSecretCiphertexts' | 'replaceSecretCiphertext'>;
  webhookEvents?: Pick<WebhookEventStore, 'listIntakeCiphertexts' | 'replaceIntakeCiphertext'>;
}): Promise<RotationResult> {
  let reencrypted = 0;
  let alreadyCurrent = 0;
  const unreadable: RotationResult['unreadable'] = [];
  for (const row of await deps.connections.listCiphertexts()) {
    let current: { version: number; ciphertext: string } | null = row;
    for (let attempt = 0; current && attempt < 5; attempt++) {
      if (deps.keyring.isCurrent(current.ciphertext)) {
        alreadyCurrent++;
        break;
      }
      const next = reencrypt(deps.keyring, current.ciphertext, `upstream_connection:${row.id}`);
      if (next === null) {
        unreadable.push({ type: 'upstream_connection', id: row.id });
        break;
      }
      if (await deps.connections.replaceCredential(row.id, current.version, next, deps.clock.now())) {
        reencrypted++;
        break;
      }
      const fresh = await deps.connections.findById(row.id);
      current = fresh?.credentialCiphertext ? { version: fresh.version, ciphertext: fresh.credentialCiphertext } : null;
    }
  }
  if (deps.internalIntegrations) {
    const integrations = deps.internalIntegrations;
    for (const row of await integrations.listTokenCiphertexts()) {
      let current: string | null = row.ciphertext;
      for (let attempt = 0; current !== null && attempt < 5; attempt++) {
        if (deps.keyring.isCurrent(current)) {
          alreadyCurrent++;
          break;
        }
        const next = reencrypt(deps.keyring, current, `partner_app:${row.id}`);
        if (next === null) {
          unreadable.push({ type: 'internal_integration', id: row.id });
          break;
        }
        if (await integrations.replaceTokenCiphertext(row.id, current, next)) {
          reencrypted++;
          break;
        }
        current = await integrations.tokenCiphertext(row.id);
      }
    }
  }
  if (deps.webhookSubscriptions) {
    const result = await reencryptSubscriptionSecrets(deps.keyring, deps.webhookSubscriptions);
    reencrypted += result.reencrypted;
    alreadyCurrent += result.alreadyCurrent;
    for (const id of result.unreadable) unreadable.push({ type: 'webhook_subscription', id });
  }
  if (deps.webhookEvents) {
    // The token Notion sent an intake: a lost one means re-verifying at Notion, so it rotates like the rest.
    for (const row of await deps.webhookEvents.listIntakeCiphertexts()) {
      if (deps.keyring.isCurrent(row.ciphertext)) {
        alreadyCurrent++;
        continue;
      }
      const next = reencrypt(deps.keyring, row.ciphertext, intakeAad(row.id));
      if (next === null) unreadable.push({ type: 'webhook_intake', id: row.id });
      else if (await deps.webhookEvents.replaceIntakeCiphertext(row.id, row.ciphertext, next)) reencrypted++;
      else alreadyCurrent++; // a new verification POST replaced it, under the current key
    }
  }
  return { keyId: deps.keyring.currentKeyId, reencrypted, alreadyCurrent, unreadable };
}
