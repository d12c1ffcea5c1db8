/**
 * Opaque bearer secrets (codes, tokens, client secrets, admin tokens).
 *
 * Invariant: a secret is 32 bytes from the CSPRNG (RFC 6749 §10.10 asks for a
 * guess probability of at most 2^-128), base64url-encoded behind a readable
 * type prefix, shown once, and only its SHA-256 hash is ever stored. A hash of
 * 256 random bits needs no salt or slow KDF: nothing can be guessed from it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenKind = 'gh_at' | 'gh_rt' | 'gh_code' | 'gh_cs' | 'gh_admin' | 'gh_int';

export function generateToken(kind: TokenKind): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

/** A random string without a prefix (CSRF tokens, state, ids for URLs). */
export function randomString(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** Constant-time comparison; unequal lengths compare false without throwing. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  // Hashing first makes the lengths equal, so timingSafeEqual never throws
  // and the comparison leaks nothing about the length of either input.
  return timingSafeEqual(left, right) && a.length === b.length;
}
