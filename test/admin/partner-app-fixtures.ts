/** Images and request bodies the partner app suites share. */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/processes.js';

export const DEMO_LOGO = path.join(ROOT, 'public', 'demo-partner-logo.png');
export const PNG = fs.readFileSync(DEMO_LOGO);
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60)]);
export const GIF = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(40)]);
export const WEBP = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.alloc(4), Buffer.from('WEBPVP8 ', 'latin1'), Buffer.alloc(40)]);
export const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

export const valid = {
  name: 'Zapflow',
  redirect_uris: ['https://zapflow.example/oauth/callback'],
  capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
};
const tooMany = Array.from({ length: 11 }, (_, i) => `https://zapflow.example/cb${i}`);

/** Each bad registration body, and what the 400 answer says. */
export const badInputs: Array<[string, unknown, RegExp]> = [
  ['an empty name', { ...valid, name: '' }, /name/],
  ['a blank name', { ...valid, name: '   ' }, /name must be 1 to 100/],
  ['a name over 100 characters', { ...valid, name: 'x'.repeat(101) }, /name/],
  ['no name', { redirect_uris: valid.redirect_uris, capabilities: valid.capabilities }, /name: is required/],
  ['a name that is not a string', { ...valid, name: 42 }, /^name: Invalid input: expected string, received number\.$/],
  ['no redirect URI', { ...valid, redirect_uris: [] }, /redirect_uris/],
  ['eleven redirect URIs', { ...valid, redirect_uris: tooMany }, /redirect_uris/],
  ['redirect_uris as a string', { ...valid, redirect_uris: 'https://zapflow.example/cb' }, /redirect_uris/],
  ['an http redirect URI', { ...valid, redirect_uris: ['http://partner.example/cb'] }, /must use https/],
  ['http on a look-alike of localhost', { ...valid, redirect_uris: ['http://localhost.evil.example/cb'] }, /must use https/],
  ['http on [::1] (only localhost and 127.0.0.1)', { ...valid, redirect_uris: ['http://[::1]:8080/cb'] }, /must use https/],
  ['a relative redirect URI', { ...valid, redirect_uris: ['/oauth/callback'] }, /absolute/],
  ['a redirect URI with a fragment', { ...valid, redirect_uris: ['https://zapflow.example/cb#top'] }, /fragment/],
  ['a redirect URI with an empty fragment', { ...valid, redirect_uris: ['https://zapflow.example/cb#'] }, /fragment/],
  ['a redirect URI with user and password', { ...valid, redirect_uris: ['https://user:pw@zapflow.example/cb'] }, /user name or password/],
  ['a redirect URI with an empty user', { ...valid, redirect_uris: ['https://@zapflow.example/cb'] }, /user name or password/],
  ['a javascript: redirect URI', { ...valid, redirect_uris: ['javascript:alert(1)'] }, /absolute https/],
  ['a custom-scheme redirect URI', { ...valid, redirect_uris: ['zapflow://callback'] }, /absolute https/],
  ['a redirect URI with a space', { ...valid, redirect_uris: ['https://zapflow.example/c b'] }, /spaces/],
  ['a duplicated redirect URI', { ...valid, redirect_uris: ['https://zapflow.example/cb', 'https://zapflow.example/cb'] }, /twice/],
  ['an unknown capability', { ...valid, capabilities: ['read_content', 'delete_everything'] }, /capabilities/],
  [
    'two user-information levels',
    { ...valid, capabilities: ['read_content', 'no_user_info', 'user_info_with_email'] },
    /at most one user-information level/,
  ],
  ['no capability', { ...valid, capabilities: [] }, /capabilities/],
  ['capabilities as a string', { ...valid, capabilities: 'read_content insert_content' }, /capabilities/],
  ['an unknown client type', { ...valid, client_type: 'spa' }, /client_type/],
  ['built_by_organisation as a string', { ...valid, built_by_organisation: 'yes' }, /built_by_organisation/],
  ['an http website', { ...valid, website: 'http://zapflow.example' }, /website must be an https URL/],
  ['a website that is not a URL', { ...valid, website: 'zapflow' }, /website must be an https URL/],
  [
    'a support contact that is neither email nor https',
    { ...valid, support_contact: 'call us' },
    /support contact must be an email address or an https URL/,
  ],
  ['an http support contact', { ...valid, support_contact: 'http://zapflow.example/help' }, /support contact/],
  ['an unknown field', { ...valid, client_secret: 'mine' }, /Unknown field "client_secret"/],
  ['an array body', [valid], /body must be a JSON object/],
  ['a name of the wrong type', { ...valid, name: ['Zapflow'] }, /name: Invalid input: expected string/],
  ['an http logo URL', { ...valid, logo_url: 'http://zapflow.example/logo.png' }, /must use https/],
  ['a logo on 127.0.0.1', { ...valid, logo_url: 'https://127.0.0.1/x.png' }, /non-public address/],
  ['a logo on [::1]', { ...valid, logo_url: 'https://[::1]/x.png' }, /non-public address/],
  ['a logo on an IPv4-mapped private address', { ...valid, logo_url: 'https://[::ffff:10.0.0.1]/x.png' }, /non-public address/],
  ['a logo on 169.254.169.254 (cloud metadata)', { ...valid, logo_url: 'https://169.254.169.254/latest/meta-data' }, /non-public address/],
  ['a logo on a decimal-encoded loopback', { ...valid, logo_url: 'https://2130706433/x.png' }, /non-public address/],
  ['a logo on localhost (resolves to loopback)', { ...valid, logo_url: 'https://localhost/x.png' }, /non-public address/],
  ['a logo URL with a user name', { ...valid, logo_url: 'https://user@zapflow.example/x.png' }, /user name/],
  ['a logo URL that is not a URL', { ...valid, logo_url: 'logo.png' }, /not an absolute URL/],
];
