import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ConfigError, describeParts, loadConfig } from '../../src/config.js';

const keys = `k1:${randomBytes(32).toString('base64')}`;
const secret = 'x'.repeat(40);
const production = {
  DATABASE_URL: 'postgres://gatehouse@db.internal/gatehouse',
  GATEHOUSE_ENCRYPTION_KEYS: keys,
  GATEHOUSE_SESSION_SECRET: secret,
  GATEHOUSE_OIDC_ISSUER: 'https://id.example.com',
  GATEHOUSE_OIDC_CLIENT_ID: 'gh',
  GATEHOUSE_OIDC_CLIENT_SECRET: 'very-secret-value',
  GATEHOUSE_NOTION_BASE_URL: 'https://api.notion.com',
  GATEHOUSE_NOTION_CLIENT_ID: 'nid',
  GATEHOUSE_NOTION_CLIENT_SECRET: 'notion-secret-value',
};

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('runs the embedded default with nothing set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.embedded).toBe(true);
    expect(config.oidc.mode).toBe('sandbox');
    expect(config.notion.mode).toBe('sandbox');
    expect(config.adminEmails).toEqual(['ada@example.com']);
    expect(config.organisationName).toBe('Gatehouse demo');
    expect(config.secureCookies).toBe(false);
    expect(describeParts(config)).toBe(
      'Gatehouse ready: database=embedded PGlite, sessions=database, identity=sandbox OpenID provider, notion=sandbox Notion; open http://localhost:3000/',
    );
  });

  it('runs production with everything set, and says so', () => {
    const config = loadConfig({ ...production, REDIS_URL: 'redis://cache:6379', GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example.com/' });
    expect(config.secureCookies).toBe(true);
    expect(config.publicUrl).toBe('https://gatehouse.example.com');
    expect(config.adminEmails).toEqual([]);
    expect(describeParts(config)).toContain(
      'database=PostgreSQL, sessions=Redis, identity=OpenID provider id.example.com, notion=Notion at api.notion.com',
    );
  });

  it('refuses a sandbox beside DATABASE_URL unless GATEHOUSE_SANDBOX=1', () => {
    const { GATEHOUSE_OIDC_ISSUER, GATEHOUSE_OIDC_CLIENT_ID, GATEHOUSE_OIDC_CLIENT_SECRET, ...noIdp } = production;
    expect(failure(noIdp).message).toMatch(/^GATEHOUSE_OIDC_ISSUER: is required with DATABASE_URL/);
    const { GATEHOUSE_NOTION_BASE_URL, GATEHOUSE_NOTION_CLIENT_ID, GATEHOUSE_NOTION_CLIENT_SECRET, ...noNotion } = production;
    expect(failure(noNotion).message).toMatch(/^GATEHOUSE_NOTION_BASE_URL: is required with DATABASE_URL/);
    expect(loadConfig({ ...noIdp, GATEHOUSE_SANDBOX: '1' }).oidc.mode).toBe('sandbox');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ GATEHOUSE_PUBLIC_URL: 'ftp://x' }, 'GATEHOUSE_PUBLIC_URL'],
    [{ DATABASE_URL: 'mysql://secret-password@db/x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ GATEHOUSE_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, 'GATEHOUSE_ENCRYPTION_KEYS'],
    [{ GATEHOUSE_SESSION_SECRET: 'short-secret' }, 'GATEHOUSE_SESSION_SECRET'],
    [{ GATEHOUSE_ADMIN_EMAILS: 'not-an-email' }, 'GATEHOUSE_ADMIN_EMAILS'],
    [{ GATEHOUSE_SANDBOX: 'yes' }, 'GATEHOUSE_SANDBOX'],
    [{ GATEHOUSE_OIDC_ISSUER: 'https://id.example.com' }, 'GATEHOUSE_OIDC_CLIENT_ID'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    [{ GATEHOUSE_TRUST_PROXY: 'maybe' }, 'GATEHOUSE_TRUST_PROXY'],
    [{ GATEHOUSE_TRUST_PROXY: '10.0.0.0/99' }, 'GATEHOUSE_TRUST_PROXY'],
    [{ DATABASE_URL: 'postgres://db.internal/gatehouse' }, 'DATABASE_URL'],
  ])('names the bad key %p and never its value', (env, key) => {
    const err = failure(env as Record<string, string>);
    expect(err.message.startsWith(`${key}: `)).toBe(true);
    for (const value of Object.values(env)) if (value.length > 5) expect(err.message).not.toContain(value);
  });

  it('starts no sandbox and no demo in a production image unless GATEHOUSE_SANDBOX=1', () => {
    expect(failure({ NODE_ENV: 'production' }).message).toMatch(/^GATEHOUSE_OIDC_ISSUER: is required with NODE_ENV=production/);
    const demo = loadConfig({ NODE_ENV: 'production', GATEHOUSE_SANDBOX: '1' });
    expect([demo.oidc.mode, demo.notion.mode, demo.adminEmails]).toEqual(['sandbox', 'sandbox', ['ada@example.com']]);
    const { DATABASE_URL, ...embeddedReal } = production;
    const real = loadConfig({ ...embeddedReal, NODE_ENV: 'production' });
    expect([real.embedded, real.oidc.mode, real.adminEmails]).toEqual([true, 'real', []]);
    expect(DATABASE_URL).toBeDefined();
  });

  it('takes trusted proxies as presets, addresses and subnets', () => {
    expect(loadConfig({ GATEHOUSE_TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::1' }).trustProxy).toBe('loopback, 10.0.0.0/8, fd00::1');
  });

  it('requires keys and a session secret in production', () => {
    const { GATEHOUSE_ENCRYPTION_KEYS, ...noKeys } = production;
    expect(failure(noKeys).key).toBe('GATEHOUSE_ENCRYPTION_KEYS');
    const { GATEHOUSE_SESSION_SECRET, ...noSecret } = production;
    expect(failure(noSecret).key).toBe('GATEHOUSE_SESSION_SECRET');
  });
});
