import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../platform/errors.js';
import { KeyUnwrapError } from '../errors.js';
import type { KeyEncryptionKey, WrappedKey } from './port.js';

/**
 * Local mode's KEK: a JSON file of 256-bit key versions under `<dataDir>/keys/` (folder 0700,
 * file 0600, git-ignored with the data dir), generated on first start. `rotate()` adds a version
 * and makes it current; older versions stay so existing wrapped keys still open, until
 * `SubjectKeyring.rewrapAll()` has moved every data key to the new version.
 */
const KeyFileSchema = z.object({
  format: z.literal('tsi-local-kek/v1'),
  current: z.number().int().min(1),
  versions: z.record(z.string().regex(/^[1-9]\d*$/), z.object({ key: z.string(), created_at: z.string() })),
});
type KeyFile = z.infer<typeof KeyFileSchema>;

export const LOCAL_KEK_FILE = 'kek.json';
const PREFIX = 'local:';

export class LocalKek implements KeyEncryptionKey {
  readonly kind = 'local' as const;
  private loaded: Promise<KeyFile> | null = null;

  constructor(
    readonly dir: string,
    private readonly now: () => Date = () => new Date(),
    /**
     * Asked before generating a missing key file: false when stored data depends on the KEK
     * (key-custody.ts), so a deleted file is never silently replaced by a new key.
     */
    private readonly mayCreate?: () => Promise<boolean>,
  ) {}

  /** Whether the key file exists (without creating it). */
  async exists(): Promise<boolean> {
    return (await this.read()) !== null;
  }

  get path(): string {
    return join(this.dir, LOCAL_KEK_FILE);
  }

  async wrap(dek: Buffer, aad: Buffer): Promise<WrappedKey> {
    const file = await this.file();
    const key = keyOf(file, file.current)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const out = Buffer.concat([iv, cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
    return { wrapped: out.toString('base64'), kekVersion: `${PREFIX}${file.current}` };
  }

  async unwrap(wrapped: WrappedKey, aad: Buffer): Promise<{ dek: Buffer; current: boolean }> {
    const m = /^local:([1-9]\d*)$/.exec(wrapped.kekVersion);
    if (!m) throw new KeyUnwrapError(`not a local KEK version: ${wrapped.kekVersion.slice(0, 80)}`);
    const version = Number(m[1]);
    let file = await this.file();
    // Another process may have rotated since this one loaded the file.
    if (!keyOf(file, version)) file = await this.reload();
    const key = keyOf(file, version);
    if (!key) throw new KeyUnwrapError(`local KEK version ${version} does not exist in ${this.path}`);
    const raw = Buffer.from(wrapped.wrapped, 'base64');
    if (raw.length < 12 + 16 + 1) throw new KeyUnwrapError('wrapped key too short');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    try {
      const dek = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      return { dek, current: version === file.current };
    } catch {
      throw new KeyUnwrapError('wrapped data key failed authentication (altered, or bound to another key id)');
    }
  }

  /** Adds a new KEK version and makes it current; returns its version name. */
  async rotate(): Promise<string> {
    const file = await this.reload();
    const next = Math.max(...Object.keys(file.versions).map(Number)) + 1;
    const updated: KeyFile = {
      ...file,
      current: next,
      versions: { ...file.versions, [String(next)]: { key: randomBytes(32).toString('base64'), created_at: this.now().toISOString() } },
    };
    await this.writeAtomically(JSON.stringify(updated, null, 2), false);
    this.loaded = Promise.resolve(updated);
    return `${PREFIX}${next}`;
  }

  async currentVersion(): Promise<string> {
    return `${PREFIX}${(await this.file()).current}`;
  }

  private file(): Promise<KeyFile> {
    this.loaded ??= this.loadOrCreate().catch((error) => {
      this.loaded = null;
      throw error;
    });
    return this.loaded;
  }

  private reload(): Promise<KeyFile> {
    this.loaded = null;
    return this.file();
  }

  private async loadOrCreate(): Promise<KeyFile> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const existing = await this.read();
    if (existing) return existing;
    if (this.mayCreate && !(await this.mayCreate())) {
      throw new ConfigError(`The local key file ${this.path} is missing, but stored data is encrypted under it: restore it from the backup of the data folder (a new key cannot open existing data).`);
    }
    const fresh: KeyFile = {
      format: 'tsi-local-kek/v1',
      current: 1,
      versions: { '1': { key: randomBytes(32).toString('base64'), created_at: this.now().toISOString() } },
    };
    await this.writeAtomically(JSON.stringify(fresh, null, 2), true);
    const winner = await this.read();
    if (!winner) throw new ConfigError(`Could not create the local key file ${this.path}.`);
    return winner;
  }

  private async read(): Promise<KeyFile | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = KeyFileSchema.safeParse(safeJson(text));
    if (!parsed.success || !keyOf(parsed.data, parsed.data.current)) {
      throw new ConfigError(`The local key file ${this.path} is damaged; restore it from a backup (deleting it makes every encrypted field unreadable).`);
    }
    return parsed.data;
  }

  /**
   * Complete temp file, then published in one step. On first creation `link` refuses to replace
   * a file another process created meanwhile (the first key wins); a rotation replaces it.
   */
  private async writeAtomically(text: string, createOnly: boolean): Promise<void> {
    const temp = join(this.dir, `.${LOCAL_KEK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (!createOnly) {
      await rename(temp, this.path);
      return;
    }
    try {
      await link(temp, this.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // File systems without hard links: rename is still atomic, only the race guard is lost.
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') await rename(temp, this.path);
      else if (code !== 'EEXIST') throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}

function keyOf(file: KeyFile, version: number): Buffer | null {
  const entry = file.versions[String(version)];
  if (!entry) return null;
  const key = Buffer.from(entry.key, 'base64');
  return key.length === 32 ? key : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
