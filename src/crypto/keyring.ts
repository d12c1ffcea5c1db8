/**
 * AES-256-GCM keyring for what must be read back: upstream Notion
 * credentials and internal integration tokens.
 *
 * Invariant: every ciphertext names the key that made it
 * (`v1.<keyId>.<iv>.<tag>.<data>`, base64url parts); new writes use the
 * first (current) key; any listed key still decrypts; a wrong key, a tampered
 * byte or an unknown key id throws, never returns garbage. The optional
 * associated data binds a ciphertext to its row, so a value copied into
 * another row does not decrypt there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../config.js';

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export class Keyring {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: EncryptionKey[]) {
    if (keys.length === 0) throw new Error('a keyring needs at least one key');
    for (const { key } of keys) if (key.length !== 32) throw new Error('AES-256 keys are 32 bytes');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  encrypt(plaintext: string, associatedData = ''): string {
    const iv = randomBytes(12); // 96-bit nonce, fresh per message (NIST SP 800-38D)
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', this.currentKeyId, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(ciphertext: string, associatedData = ''): string {
    const parts = ciphertext.split('.');
    if (parts.length !== 5 || parts[0] !== 'v1') throw new DecryptionError('unrecognised ciphertext format');
    const [, keyId, ivText, tagText, dataText] = parts as [string, string, string, string, string];
    const key = this.byId.get(keyId);
    if (!key) throw new DecryptionError(`no key with id "${keyId}" in GATEHOUSE_ENCRYPTION_KEYS`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== 12 || tag.length !== 16) throw new DecryptionError('malformed ciphertext');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(dataText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('ciphertext failed authentication (tampered, or wrong key)');
    }
  }

  keyIdOf(ciphertext: string): string | null {
    const parts = ciphertext.split('.');
    return parts.length === 5 ? parts[1]! : null;
  }

  /** True when the value is already under the current key (rotation skips it). */
  isCurrent(ciphertext: string): boolean {
    return this.keyIdOf(ciphertext) === this.currentKeyId;
  }
}

export function generateKeyMaterial(): string {
  return randomBytes(32).toString('base64');
}
