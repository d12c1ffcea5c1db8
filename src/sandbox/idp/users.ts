/**
 * The sandbox OpenID provider's user directory: the demo people, plus any a
 * test adds. In memory only; passwords are demo passwords printed on the
 * sign-in page, so they are kept as given, but still compared in constant
 * time so that the sandbox shows the right pattern.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface DemoUser {
  subject: string;
  email: string;
  password: string;
  name: string;
}

export interface DirectoryUser extends DemoUser {
  emailVerified: boolean;
}

/** The two demo people. Subjects are fixed so sign-ins survive restarts. */
export const DEMO_USERS: readonly DemoUser[] = Object.freeze(
  [
    { subject: 'sandbox-ada-2f6c1d0e', email: 'ada@example.com', password: 'ada-demo', name: 'Ada Lovelace' },
    { subject: 'sandbox-ben-8a93b4c7', email: 'ben@example.com', password: 'ben-demo', name: 'Ben Bitdiddle' },
  ].map((user) => Object.freeze(user)),
);

/** Compares fixed-length digests, so neither content nor length of the secret leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const normaliseEmail = (email: string) => email.trim().toLowerCase();

export class UserDirectory {
  readonly #bySubject = new Map<string, DirectoryUser>();

  constructor(users: readonly DemoUser[]) {
    for (const user of users) this.upsert(user);
  }

  /** Adds a user, or replaces the one with the same subject. Email is verified unless told otherwise. */
  upsert(user: DemoUser & { emailVerified?: boolean }): void {
    const { subject, email, password, name, emailVerified = true } = user;
    this.#bySubject.set(subject, { subject, email: normaliseEmail(email), password, name, emailVerified });
  }

  findBySubject(subject: string): DirectoryUser | undefined {
    return this.#bySubject.get(subject);
  }

  /** The user with this email and password, or undefined; an unknown email costs the same comparison as a wrong password. */
  authenticate(email: string, password: string): DirectoryUser | undefined {
    const wanted = normaliseEmail(email);
    const user = [...this.#bySubject.values()].find((candidate) => candidate.email === wanted);
    const matches = sameSecret(password, user?.password ?? '\u0000no such user');
    return user && matches ? user : undefined;
  }
}
