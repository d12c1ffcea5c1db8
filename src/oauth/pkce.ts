/**
 * PKCE at the token endpoint (RFC 7636). Invariant: a code issued with a
 * challenge is redeemed only with the verifier that hashes to it (S256 only,
 * never `plain`), and a code issued without one is never redeemed with a
 * verifier (RFC 9700 §4.8.2: that is a downgrade attempt).
 */
import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../crypto/tokens.js';
import { InvalidGrant } from './errors.js';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636 §4.6 and RFC 9700 §4.8.2; a mismatch is invalid_grant. */
export function requirePkce(codeChallenge: string | null, verifier: string | undefined): void {
  if (codeChallenge !== null) {
    if (verifier === undefined) throw new InvalidGrant('code_verifier is required: the authorisation request sent a code_challenge.');
    if (!VERIFIER.test(verifier) || !constantTimeEqual(s256(verifier), codeChallenge))
      throw new InvalidGrant('code_verifier does not match the code_challenge.');
  } else if (verifier !== undefined) {
    throw new InvalidGrant('code_verifier sent, but the authorisation request had no code_challenge.');
  }
}
