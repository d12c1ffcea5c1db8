/**
 * The embedded default generates its secrets once into the data folder
 * (mode 0600) so `npm start` works with nothing configured. Production never
 * does: config.ts stops start-up when they are missing beside DATABASE_URL.
 */
import fs from 'node:fs';
import { z } from 'zod';
import type { Config, EncryptionKey } from '../config.js';
import { parseEncryptionKeys } from '../config.js';
import { generateKeyMaterial } from '../crypto/keyring.js';
import { generateToken, randomString } from '../crypto/tokens.js';
import { dataFiles, writePrivateFile } from '../store/data-dir.js';

const fileSchema = z
  .object({
    encryptionKeys: z.string(),
    sessionSecret: z.string().min(32),
    sandboxNotionClientSecret: z.string().min(16),
    sandboxOidcClientSecret: z.string().min(16),
    demoPartnerClientSecret: z.string().min(16).optional(),
  })
  .strict();

export interface Secrets {
  encryptionKeys: EncryptionKey[];
  sessionSecret: string;
  /** Gatehouse's client secrets at the in-process sandboxes. */
  sandboxNotionClientSecret: string;
  sandboxOidcClientSecret: string;
  /** The demo partner's client secret: a bootstrap file of the embedded default, like the admin token. */
  demoPartnerClientSecret: string;
  generated: boolean;
}

export function loadSecrets(config: Config, warn: (message: string) => void): Secrets {
  const file = dataFiles.secrets(config.dataDir);
  let stored: z.infer<typeof fileSchema> | null = null;
  if (fs.existsSync(file)) {
    const parsed = fileSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is damaged; restore it from a backup (it holds the keys of the stored credentials)`);
    stored = parsed.data;
  }
  const needsFile = config.encryptionKeys === null || config.sessionSecret === null;
  let generated = false;
  if (!stored && needsFile) {
    stored = {
      encryptionKeys: `k${Date.now().toString(36)}:${generateKeyMaterial()}`,
      sessionSecret: randomString(48),
      sandboxNotionClientSecret: randomString(32),
      sandboxOidcClientSecret: randomString(32),
      demoPartnerClientSecret: generateToken('gh_cs'),
    };
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    writePrivateFile(file, `${JSON.stringify(stored, null, 2)}\n`);
    generated = true;
    warn(
      `generated an encryption key and session secret into ${file} (embedded default only; set GATEHOUSE_ENCRYPTION_KEYS and GATEHOUSE_SESSION_SECRET in production)`,
    );
  }
  return {
    encryptionKeys: config.encryptionKeys ?? parseEncryptionKeys('secrets.json encryptionKeys', stored!.encryptionKeys),
    sessionSecret: config.sessionSecret ?? stored!.sessionSecret,
    sandboxNotionClientSecret: stored?.sandboxNotionClientSecret ?? randomString(32),
    sandboxOidcClientSecret: stored?.sandboxOidcClientSecret ?? randomString(32),
    demoPartnerClientSecret: stored?.demoPartnerClientSecret ?? generateToken('gh_cs'),
    generated,
  };
}
