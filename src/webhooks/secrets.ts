/**
 * The two secrets of a partner webhook subscription.
 *
 * - The verification token: sent once, in the verification POST, to the
 *   subscription's URL and nowhere else; it keys `X-Notion-Signature` on
 *   every delivery, as Notion's own token does, so a partner's Notion code
 *   verifies Gatehouse's deliveries unchanged.
 * - The signing secret `whsec_<base64>`: the Standard Webhooks key, shown
 *   once (creation, rotation). After a rotation the previous one keeps
 *   signing until its expiry, so a partner can switch without dropping a
 *   delivery (both signatures travel in `webhook-signature`).
 *
 * Invariant: both are 32 bytes from the CSPRNG and exist in plain text only
 * in memory; at rest they are AES-256-GCM ciphertexts bound to their row by
 * the associated data `webhook_subscription:<id>`, so a ciphertext copied to
 * another subscription does not decrypt there.
 */
import { randomBytes } from 'node:crypto';
import { DecryptionError, type Keyring } from '../crypto/keyring.js';
import type { WebhookSubscriptionStore } from '../store/webhook-subscriptions.js';

/** The associated data of every secret of one subscription (the delivery engine decrypts with it too). */
export function subscriptionSecretAad(subscriptionId: string): string {
  return `webhook_subscription:${subscriptionId}`;
}

/** Notion's tokens read `secret_...`; Gatehouse's look the same to a partner's code. */
export function generateVerificationToken(): string {
  return `secret_${randomBytes(32).toString('base64url')}`;
}

/** Standard Webhooks: `whsec_` + base64 of 24 to 64 random bytes (here 32). */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function encryptSubscriptionSecret(keyring: Keyring, subscriptionId: string, plaintext: string): string {
  return keyring.encrypt(plaintext, subscriptionSecretAad(subscriptionId));
}

export function decryptSubscriptionSecret(keyring: Keyring, subscriptionId: string, ciphertext: string): string {
  return keyring.decrypt(ciphertext, subscriptionSecretAad(subscriptionId));
}

/** The secrets in plain text, for one signing or one comparison; null when the subscription is gone. */
export interface SubscriptionSecrets {
  verificationToken: string;
  /** Current first; the previous one while its overlap lasts. */
  signingSecrets: string[];
}

export async function readSubscriptionSecrets(
  deps: { store: Pick<WebhookSubscriptionStore, 'secretsOf'>; keyring: Keyring },
  subscriptionId: string,
  now: Date,
): Promise<SubscriptionSecrets | null> {
  const stored = await deps.store.secretsOf(subscriptionId);
  if (!stored) return null;
  const open = (ciphertext: string) => decryptSubscriptionSecret(deps.keyring, subscriptionId, ciphertext);
  const signingSecrets = [open(stored.signingSecretCiphertext)];
  const previousLive =
    stored.previousSigningSecretCiphertext !== null &&
    stored.previousSigningSecretExpiresAt !== null &&
    stored.previousSigningSecretExpiresAt.getTime() > now.getTime();
  if (previousLive) signingSecrets.push(open(stored.previousSigningSecretCiphertext!));
  return { verificationToken: open(stored.verificationTokenCiphertext), signingSecrets };
}

/**
 * For `keys rotate`: every subscription secret re-encrypted under the current
 * key, each by compare-and-swap on its old ciphertext (a signing-secret
 * rotation racing it wins, and is already under the current key). A value no
 * configured key decrypts is reported by subscription id; the rest go on.
 */
export async function reencryptSubscriptionSecrets(
  keyring: Keyring,
  store: Pick<WebhookSubscriptionStore, 'listSecretCiphertexts' | 'replaceSecretCiphertext'>,
): Promise<{ reencrypted: number; alreadyCurrent: number; unreadable: string[] }> {
  let reencrypted = 0;
  let alreadyCurrent = 0;
  const unreadable = new Set<string>();
  for (const { id, column, ciphertext } of await store.listSecretCiphertexts()) {
    if (keyring.isCurrent(ciphertext)) {
      alreadyCurrent++;
      continue;
    }
    let next: string;
    try {
      next = encryptSubscriptionSecret(keyring, id, decryptSubscriptionSecret(keyring, id, ciphertext));
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      unreadable.add(id);
      continue;
    }
    if (await store.replaceSecretCiphertext(id, column, ciphertext, next)) reencrypted++;
    else alreadyCurrent++; // replaced meanwhile, by a rotation that wrote under the current key
  }
  return { reencrypted, alreadyCurrent, unreadable: [...unreadable] };
}
