import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingSecretError, assertSecretName, type SecretStore } from './port.js';

/**
 * Local mode's secret store: one file per secret under a private folder (0700, files 0600), so
 * keys survive restarts without any cloud account. The folder is git-ignored with the data dir.
 */
export class LocalSecretStore implements SecretStore {
  private readonly cache = new Map<string, Promise<string>>();
  private ready: Promise<void> | null = null;

  constructor(readonly dir: string) {}

  async get(name: string): Promise<string> {
    assertSecretName(name);
    return this.remember(name, async () => {
      await this.ensureDir();
      const value = await this.read(name);
      if (value === null) {
        throw new MissingSecretError(name, `Local secret "${name}" does not exist in ${this.dir}.`);
      }
      return value;
    });
  }

  async getOrCreate(name: string, create: () => string): Promise<string> {
    assertSecretName(name);
    return this.remember(name, async () => {
      await this.ensureDir();
      const existing = await this.read(name);
      if (existing !== null) return existing;
      return this.createOnce(name, create());
    });
  }

  /** One read (and at most one creation) per secret per process; a failure is not cached. */
  private remember(name: string, load: () => Promise<string>): Promise<string> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const pending = load();
    this.cache.set(name, pending);
    pending.catch(() => this.cache.delete(name));
    return pending;
  }

  private ensureDir(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      // mkdir's mode is filtered by the umask and ignored for an existing folder.
      await chmod(this.dir, 0o700);
    })().catch((error) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  private async read(name: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /**
   * Writes a complete temp file, then publishes it under the final name in one atomic step.
   * `link` refuses to replace an existing file, so when two processes race the first value wins
   * and the loser reads it back instead of silently overwriting a key that is already in use.
   */
  private async createOnce(name: string, value: string): Promise<string> {
    const target = join(this.dir, name);
    const temp = join(this.dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(value, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        await unlink(temp).catch(() => undefined);
        const winner = await this.read(name);
        if (winner !== null) return winner;
        throw error;
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
      // File systems without hard links: rename is still atomic, only the race guard is lost.
      await rename(temp, target);
      return value;
    }
    await unlink(temp).catch(() => undefined);
    return value;
  }
}
