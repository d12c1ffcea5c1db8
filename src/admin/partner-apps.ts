/**
 * Registering partner apps and rotating their client secrets: plain functions over the stores, called by the admin JSON
 * API, the admin page and, through the API, the command line.
 *
 * Invariants:
 * - every check runs before anything is fetched or stored, and a refused
 *   registration stores nothing;
 * - a client secret exists in plain text only in the answer that creates it
 *   (RFC 6819 §5.1.4.1.3); the database holds `hashToken(secret)`;
 * - redirect URIs are kept exactly as given, because authorisation compares
 *   them as strings (RFC 9700 §4.1.3), and are https, or http on loopback
 *   only (RFC 9700 §2.6; RFC 8252 §7.3).
 */
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { generateToken, hashToken, randomString } from '../crypto/tokens.js';
import { CAPABILITIES, USER_INFO_LEVELS, isCapability, normaliseCapabilities, type Capability } from '../oauth/capabilities.js';
import type { AuditEvent, AuditStore } from '../store/audit.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import { LogoError, type LogoFetcher } from './logo.js';
import { AdminError } from '../http/refusal.js';

export const NAME_MAX = 100;
export const REDIRECT_URIS_MAX = 10;
export const URL_MAX = 2000;

/** The wire shape of a registration (JSON API; the page and the command line map onto it). */
export const registrationBodySchema = z
  .object({
    name: z.string().min(1).max(NAME_MAX).describe('Shown to people on the consent screen'),
    redirect_uris: z
      .array(z.string().min(1).max(URL_MAX))
      .min(1)
      .max(REDIRECT_URIS_MAX)
      .describe('Absolute; https, or http for localhost and 127.0.0.1 only; no fragment, no user name; compared as exact strings'),
    capabilities: z
      .array(z.enum(CAPABILITIES))
      .min(1)
      .max(CAPABILITIES.length)
      .describe('At most one user-information level; no_user_info when none is named'),
    client_type: z
      .enum(['confidential', 'public'])
      .default('confidential')
      .describe('confidential: a client secret is returned once; public: no secret, PKCE required'),
    built_by_organisation: z.boolean().default(false),
    logo_url: z
      .string()
      .min(1)
      .max(URL_MAX)
      .nullable()
      .optional()
      .describe('https, PNG/JPEG/GIF/WebP, at most 256 KB, fetched once; or a file under $GATEHOUSE_PUBLIC_URL/static/'),
    website: z.string().min(1).max(URL_MAX).nullable().optional().describe('https URL'),
    support_contact: z.string().min(1).max(URL_MAX).nullable().optional().describe('An email address or an https URL'),
  })
  .strict();

export type RegistrationBody = z.output<typeof registrationBodySchema>;

/** What a registration needs, in domain words. */
export interface RegistrationInput {
  name: string;
  redirectUris: string[];
  capabilities: string[];
  clientType: 'confidential' | 'public';
  builtByOrganisation: boolean;
  logoUrl: string | null;
  website: string | null;
  supportContact: string | null;
}

export function registrationInputFromBody(body: RegistrationBody): RegistrationInput {
  return {
    name: body.name,
    redirectUris: body.redirect_uris,
    capabilities: body.capabilities,
    clientType: body.client_type,
    builtByOrganisation: body.built_by_organisation,
    logoUrl: body.logo_url ?? null,
    website: body.website ?? null,
    supportContact: body.support_contact ?? null,
  };
}

/** Closed set of refusals; every one is the caller's input, so a 400, but an unknown client id (404). */
export type RegistrationErrorCode =
  | 'invalid_name'
  | 'invalid_redirect_uri'
  | 'invalid_capabilities'
  | 'invalid_website'
  | 'invalid_support_contact'
  | 'invalid_logo'
  | 'unknown_client'
  | 'no_client_secret';

export class PartnerAppError extends AdminError<RegistrationErrorCode> {
  constructor(
    code: RegistrationErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(code, message, code === 'unknown_client' ? 404 : 400);
    this.name = 'PartnerAppError';
  }
}

export interface PartnerAppDeps {
  partnerApps: PartnerAppStore;
  audit: AuditStore;
  clock: Clock;
  fetchLogo: LogoFetcher;
}

export type Actor = AuditEvent['actor'] & { address?: string | null };

export interface RegisteredPartnerApp {
  app: PartnerApp;
  /** Present for confidential clients only, and only here. */
  clientSecret: string | null;
}

// ---------------------------------------------------------------------------
// Checks

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > NAME_MAX)
    throw new PartnerAppError('invalid_name', `The name must be 1 to ${NAME_MAX} characters.`, 'name');
  if (CONTROL.test(trimmed)) throw new PartnerAppError('invalid_name', 'The name must not contain control characters.', 'name');
  return trimmed;
}

/** The authority part of an absolute URL as written (before WHATWG parsing normalises it away). */
function rawAuthority(text: string): string {
  const afterScheme = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return afterScheme.split(/[/?#]/, 1)[0] ?? '';
}

const LOOPBACK_HTTP_HOSTS = new Set(['localhost', '127.0.0.1']);

/** One redirect URI; returns it unchanged (exact string match later). */
export function checkRedirectUri(uri: string): string {
  const refuse = (why: string) =>
    new PartnerAppError('invalid_redirect_uri', `Redirect URI "${uri.slice(0, 200)}" ${why}.`, 'redirect_uris');
  if (uri.length === 0 || uri.length > URL_MAX) throw refuse(`must be 1 to ${URL_MAX} characters`);
  if (/\s/.test(uri) || CONTROL.test(uri)) throw refuse('must not contain spaces or control characters');
  if (!/^https?:\/\//i.test(uri)) throw refuse('must be an absolute https URL (http only for localhost and 127.0.0.1)');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse('is not a valid URL');
  }
  // RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment component.
  if (uri.includes('#')) throw refuse('must not contain a fragment (#)');
  if (rawAuthority(uri).includes('@') || url.username || url.password) throw refuse('must not contain a user name or password');
  if (url.hostname === '') throw refuse('has no host');
  if (url.protocol === 'http:') {
    if (!LOOPBACK_HTTP_HOSTS.has(url.hostname)) throw refuse('must use https (http is allowed only for localhost and 127.0.0.1)');
  } else if (url.protocol !== 'https:') {
    throw refuse('must use https');
  }
  return uri;
}

function checkRedirectUris(uris: string[]): string[] {
  if (uris.length < 1 || uris.length > REDIRECT_URIS_MAX) {
    throw new PartnerAppError('invalid_redirect_uri', `Give 1 to ${REDIRECT_URIS_MAX} redirect URIs.`, 'redirect_uris');
  }
  const checked = uris.map(checkRedirectUri);
  const duplicate = checked.find((u, i) => checked.indexOf(u) !== i);
  if (duplicate !== undefined)
    throw new PartnerAppError('invalid_redirect_uri', `Redirect URI "${duplicate.slice(0, 200)}" is listed twice.`, 'redirect_uris');
  return checked;
}

export function checkCapabilities(names: string[]): Capability[] {
  const unknown = names.find((n) => !isCapability(n));
  if (unknown !== undefined) {
    throw new PartnerAppError(
      'invalid_capabilities',
      `Unknown capability "${unknown.slice(0, 60)}"; capabilities are ${CAPABILITIES.join(', ')}.`,
      'capabilities',
    );
  }
  const levels = new Set(names.filter((n) => (USER_INFO_LEVELS as readonly string[]).includes(n)));
  if (levels.size > 1) {
    throw new PartnerAppError(
      'invalid_capabilities',
      `Name at most one user-information level (${USER_INFO_LEVELS.join(', ')}).`,
      'capabilities',
    );
  }
  return normaliseCapabilities(names as Capability[]);
}

function checkHttpsUrl(text: string, code: 'invalid_website' | 'invalid_support_contact', what: string, field: string): string {
  const refuse = () => new PartnerAppError(code, `${what} must be an https URL.`, field);
  if (text.length > URL_MAX || /\s/.test(text) || CONTROL.test(text) || !/^https:\/\//i.test(text)) throw refuse();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse();
  }
  if (url.protocol !== 'https:' || url.hostname === '') throw refuse();
  if (rawAuthority(text).includes('@') || url.username || url.password)
    throw new PartnerAppError(code, `${what} must not contain a user name or password.`, field);
  return text;
}

const emailSchema = z.email();

function checkSupportContact(text: string): string {
  const trimmed = text.trim();
  if (/^https:\/\//i.test(trimmed)) return checkHttpsUrl(trimmed, 'invalid_support_contact', 'The support contact', 'support_contact');
  if (trimmed.length <= 254 && emailSchema.safeParse(trimmed).success) return trimmed;
  throw new PartnerAppError('invalid_support_contact', 'The support contact must be an email address or an https URL.', 'support_contact');
}

/** Every check that needs no network: run before the logo is fetched, so bad input costs nothing. */
export function checkRegistration(input: RegistrationInput) {
  const blank = (v: string | null) => (v === null || v.trim() === '' ? null : v.trim());
  const website = blank(input.website);
  const supportContact = blank(input.supportContact);
  const logoUrl = blank(input.logoUrl);
  if (logoUrl !== null && logoUrl.length > URL_MAX) throw new PartnerAppError('invalid_logo', 'The logo URL is too long.', 'logo_url');
  return {
    name: checkName(input.name),
    redirectUris: checkRedirectUris(input.redirectUris),
    capabilities: checkCapabilities(input.capabilities),
    clientType: input.clientType,
    builtByOrganisation: input.builtByOrganisation,
    website: website === null ? null : checkHttpsUrl(website, 'invalid_website', 'The website', 'website'),
    supportContact: supportContact === null ? null : checkSupportContact(supportContact),
    logoUrl,
  };
}

// ---------------------------------------------------------------------------
// Rules

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

export async function registerPartnerApp(
  deps: PartnerAppDeps,
  input: RegistrationInput,
  actor: Actor = { type: 'system' },
): Promise<RegisteredPartnerApp> {
  const checked = checkRegistration(input);
  let logo = null;
  if (checked.logoUrl !== null) {
    try {
      logo = await deps.fetchLogo(checked.logoUrl);
    } catch (err) {
      if (err instanceof LogoError) throw new PartnerAppError('invalid_logo', err.message, 'logo_url');
      throw err;
    }
  }
  const clientSecret = checked.clientType === 'confidential' ? generateToken('gh_cs') : null;
  let app: PartnerApp | null = null;
  // 18 random bytes make a collision all but impossible; the unique index makes it certain.
  for (let attempt = 0; app === null; attempt++) {
    try {
      app = await deps.partnerApps.create(
        {
          clientId: randomString(18),
          clientSecretHash: clientSecret === null ? null : hashToken(clientSecret),
          name: checked.name,
          website: checked.website,
          supportContact: checked.supportContact,
          logo,
          redirectUris: checked.redirectUris,
          capabilities: checked.capabilities,
          builtByOrganisation: checked.builtByOrganisation,
          clientType: checked.clientType,
          createdBy: actor.type === 'person' || actor.type === 'admin_token' ? (actor.id ?? null) : null,
        },
        deps.clock.now(),
      );
    } catch (err) {
      if (!isUniqueViolation(err) || attempt >= 2) throw err;
    }
  }
  await deps.audit.record(
    {
      action: 'partner_app.created',
      actor: actorOf(actor),
      target: { type: 'partner_app', id: app.id },
      address: actor.address ?? null,
      outcome: 'success',
      detail: {
        clientId: app.clientId,
        name: app.name,
        clientType: app.clientType,
        capabilities: app.capabilities,
        redirectUris: app.redirectUris,
        builtByOrganisation: app.builtByOrganisation,
        logo: logo !== null,
      },
    },
    deps.clock.now(),
  );
  return { app, clientSecret };
}

export async function rotateClientSecret(
  deps: Pick<PartnerAppDeps, 'partnerApps' | 'audit' | 'clock'>,
  clientId: string,
  actor: Actor = { type: 'system' },
): Promise<{ app: PartnerApp; clientSecret: string }> {
  const app = clientId.length <= 200 ? await deps.partnerApps.findByClientId(clientId) : null;
  if (!app) throw new PartnerAppError('unknown_client', 'There is no partner app with this client id.', 'client_id');
  if (app.clientType !== 'confidential') {
    throw new PartnerAppError(
      'no_client_secret',
      `"${app.name}" is a public client: it has no client secret to rotate (it proves itself with PKCE).`,
      'client_id',
    );
  }
  const clientSecret = generateToken('gh_cs');
  // Replacing the hash is the whole rotation: the old secret stops matching at once, on every instance.
  if (!(await deps.partnerApps.setSecretHash(app.id, hashToken(clientSecret)))) {
    throw new PartnerAppError('no_client_secret', `"${app.name}" has no client secret to rotate.`, 'client_id');
  }
  await deps.audit.record(
    {
      action: 'partner_app.secret_rotated',
      actor: actorOf(actor),
      target: { type: 'partner_app', id: app.id },
      address: actor.address ?? null,
      outcome: 'success',
      detail: { clientId: app.clientId },
    },
    deps.clock.now(),
  );
  return { app, clientSecret };
}

function actorOf(actor: Actor): AuditEvent['actor'] {
  return { type: actor.type, id: actor.id ?? null, label: actor.label ?? null };
}

// The wire shapes live beside, re-exported for this module's importers.
export * from './partner-app-wire.js';
