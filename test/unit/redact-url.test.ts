/** Request log lines never carry a code, token or secret from a query string, however it is encoded or nested. */
import { describe, expect, it } from '@jest/globals';
import { redactUrl } from '../../src/http/logging.js';

describe('redactUrl', () => {
  it('replaces secret parameters by name and keeps the rest as it came', () => {
    expect(redactUrl('/cb?code=abc&state=xyz&ok=1#frag')).toBe('/cb?code=[redacted]&state=[redacted]&ok=1#frag');
    expect(redactUrl('/x?CODE=abc&Verification_Token=v&client_assertion=j&id_token=t')).toBe(
      '/x?CODE=[redacted]&Verification_Token=[redacted]&client_assertion=[redacted]&id_token=[redacted]',
    );
    expect(redactUrl('/x?c%6Fde=abc')).toBe('/x?c%6Fde=[redacted]');
    expect(redactUrl('/v1/oauth/introspect')).toBe('/v1/oauth/introspect');
    expect(redactUrl('/x?flag&q=a%20b')).toBe('/x?flag&q=a%20b');
  });

  it('redacts inside a return_to that is itself a URL with a query', () => {
    const line = redactUrl('/auth/sign-in?return_to=%2Fconnect%2Fnotion%2Fcallback%3Fcode%3DSECRET%26state%3DS');
    expect(line).not.toContain('SECRET');
    expect(decodeURIComponent(line)).toBe('/auth/sign-in?return_to=/connect/notion/callback?code=[redacted]&state=[redacted]');
    expect(redactUrl('/auth/sign-in?return_to=%2Fworkspaces%3Fnotice%3Dok')).toBe('/auth/sign-in?return_to=%2Fworkspaces%3Fnotice%3Dok');
  });

  it('survives malformed escapes', () => {
    expect(redactUrl('/x?a=%E0%A4%A&code=1')).toBe('/x?a=%E0%A4%A&code=[redacted]');
  });
});
