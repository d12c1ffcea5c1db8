/**
 * Session ids at rest are hashes: every store call gets SHA-256(sid), never
 * the sid itself. The cookie carries the sid (signed with the session secret);
 * the database row or Redis key carries only its hash. Whoever holds a dump
 * of the store and the session secret still cannot rebuild a live cookie,
 * because the hash does not give the sid back. The CSRF token kept inside a
 * session is useless without that cookie.
 *
 * Sessions stored before ids were hashed are simply never found again: their
 * holders sign in anew, and the old rows and keys expire on their own.
 */
import session from 'express-session';
import { hashToken } from '../crypto/tokens.js';

export class HashedSessionIdStore extends session.Store {
  constructor(private readonly inner: session.Store) {
    super();
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    this.inner.get(hashToken(sid), callback);
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    this.inner.set(hashToken(sid), sess, callback);
  }

  override touch(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    if (this.inner.touch) this.inner.touch(hashToken(sid), sess, callback);
    else callback?.();
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.inner.destroy(hashToken(sid), callback);
  }
}
