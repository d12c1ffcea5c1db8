/**
 * Notion ids: UUIDs that the API accepts with or without dashes and always
 * answers dashed and lower-case.
 */
import { createHash, randomUUID } from 'node:crypto';

const HEX32 = /^[0-9a-f]{32}$/;

/** Dashed, lower-case form of an id given with or without dashes; null when it is not a UUID. */
export function normalizeId(raw: string): string | null {
  const hex = raw.trim().toLowerCase().replace(/-/g, '');
  if (!HEX32.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newId(): string {
  return randomUUID();
}

/**
 * A UUID derived from a name (version-5 layout over SHA-1), so the seed
 * gives the same ids on every machine and other code can refer to them.
 */
export function seedUuid(name: string): string {
  const bytes = createHash('sha1').update(`gatehouse-sandbox-notion:${name}`, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return normalizeId(bytes.toString('hex')) as string;
}

export function compactId(id: string): string {
  return id.replace(/-/g, '');
}
