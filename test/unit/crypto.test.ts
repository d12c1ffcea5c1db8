import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { DecryptionError, Keyring } from '../../src/crypto/keyring.js';
import { constantTimeEqual, generateToken, hashToken } from '../../src/crypto/tokens.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('opaque tokens', () => {
  it('are 32 random bytes in base64url behind a readable prefix', () => {
    const token = generateToken('gh_at');
    expect(token).toMatch(/^gh_at_[A-Za-z0-9_-]{43}$/);
  });

  it('do not repeat over 10,000 draws', () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => generateToken('gh_code')));
    expect(seen.size).toBe(10_000);
  });

  it('are stored as a SHA-256 hash that is not the token', () => {
    const token = generateToken('gh_rt');
    expect(hashToken(token)).toHaveLength(43);
    expect(hashToken(token)).not.toContain(token.slice(6));
    expect(hashToken(token)).toBe(hashToken(token));
  });

  it('compare in constant time, unequal lengths false without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
  });
});

describe('AES-256-GCM keyring', () => {
  it('round-trips and names the key that encrypted', () => {
    const ring = new Keyring([key('k2'), key('k1')]);
    const sealed = ring.encrypt('secret value', 'row-1');
    expect(sealed.startsWith('v1.k2.')).toBe(true);
    expect(sealed).not.toContain('secret value');
    expect(ring.decrypt(sealed, 'row-1')).toBe('secret value');
  });

  it('encrypts new writes with the newest (first) key and still decrypts older keys', () => {
    const old = key('old');
    const before = new Keyring([old]).encrypt('credential');
    const rotated = new Keyring([key('new'), old]);
    expect(rotated.decrypt(before)).toBe('credential');
    expect(rotated.isCurrent(before)).toBe(false);
    expect(rotated.isCurrent(rotated.encrypt('x'))).toBe(true);
  });

  it('fails loudly on a tampered byte, the wrong associated data, or an unknown key', () => {
    const ring = new Keyring([key('k1')]);
    const sealed = ring.encrypt('credential', 'row-1');
    const parts = sealed.split('.');
    const data = Buffer.from(parts[4]!, 'base64url');
    data[0] = data[0]! ^ 1;
    const tampered = [...parts.slice(0, 4), data.toString('base64url')].join('.');
    expect(() => ring.decrypt(tampered, 'row-1')).toThrow(DecryptionError);
    expect(() => ring.decrypt(sealed, 'row-2')).toThrow(DecryptionError);
    expect(() => new Keyring([key('other')]).decrypt(sealed, 'row-1')).toThrow(/no key with id "k1"/);
    expect(() => ring.decrypt('garbage', 'row-1')).toThrow(DecryptionError);
  });

  it('uses a fresh nonce for every message', () => {
    const ring = new Keyring([key('k1')]);
    expect(ring.encrypt('same')).not.toBe(ring.encrypt('same'));
  });
});
