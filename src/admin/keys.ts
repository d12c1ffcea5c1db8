/**
 * `keys rotate`: re-encrypt every stored upstream credential under the
 * current (first) key, so an old key can then be dropped from
 * GATEHOUSE_ENCRYPTION_KEYS. Each row is swapped by compare-and-swap on its
 * version, so a concurrent refresh is never overwritten with an old value.
 * Internal integration tokens (AAD `partner_app:<id>`) are re-encrypted too,
 * each by compare-and-swap on the old ciphertext.
 */
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';

export interface RotationResult {
  keyId: string;
  reencrypted: number;
  alreadyCurrent: number;
}

export async function rotateKeys(deps: { keyring: Keyring; connections: UpstreamConnectionStore; clock: Clock; internalIntegrations?: InternalIntegrationStore }): Promise<RotationResult> {
  let reencrypted = 0;
  let alreadyCurrent = 0;
  for (const row of await deps.connections.listCiphertexts()) {
    let current: { version: number; ciphertext: string } | null = row;
    for (let attempt = 0; current && attempt < 5; attempt++) {
      if (deps.keyring.isCurrent(current.ciphertext)) {
        alreadyCurrent++;
        break;
      }
      const aad = `upstream_connection:${row.id}`;
      const next = deps.keyring.encrypt(deps.keyring.decrypt(current.ciphertext, aad), aad);
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
        const aad = `partner_app:${row.id}`;
        if (await integrations.replaceTokenCiphertext(row.id, current, deps.keyring.encrypt(deps.keyring.decrypt(current, aad), aad))) {
          reencrypted++;
          break;
        }
        current = await integrations.tokenCiphertext(row.id);
      }
    }
  }
  return { keyId: deps.keyring.currentKeyId, reencrypted, alreadyCurrent };
}
