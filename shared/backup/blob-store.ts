import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * Small named JSON objects kept OUTSIDE the database they protect (docs/decisions/0035): the
 * erasure ledger and the key escrow of backups. Locally a private folder beside (never inside)
 * the Firestore data; in production a Cloud Storage bucket. Names are `<prefix>/<id>.json`.
 *
 * `delete` must really remove the object: the key escrow relies on it for crypto-shredding, so the
 * Cloud Storage adapter also removes noncurrent versions of a versioned bucket.
 */
export interface BlobStore {
  describe(): string;
  put(name: string, text: string): Promise<void>;
  /** Writes only if the name is free; false when another writer was first (its object stays). */
  create(name: string, text: string): Promise<boolean>;
  /** The object's text, or null when there is none. */
  get(name: string): Promise<string | null>;
  delete(name: string): Promise<void>;
  /** Names under a prefix (`erasure-ledger/`), sorted. */
  list(prefix: string): Promise<string[]>;
}

const NAME = /^[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_.-]{1,200}$/;

export function checkBlobName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) throw new TypeError(`not a blob name: ${name.slice(0, 80)}`);
  return name;
}

export class LocalFolderBlobStore implements BlobStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  describe(): string {
    return this.root;
  }

  /** Complete temp file, fsync'ed, renamed over the name: a reader sees the old or the new object. */
  async put(name: string, text: string): Promise<void> {
    const { file, temp } = await this.stage(name, text);
    await rename(temp, file);
  }

  /** `link` refuses an existing name, so of two creators the first wins. */
  async create(name: string, text: string): Promise<boolean> {
    const { file, temp } = await this.stage(name, text);
    try {
      await link(temp, file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private async stage(name: string, text: string): Promise<{ file: string; temp: string }> {
    const file = join(this.root, checkBlobName(name));
    await mkdir(file.slice(0, file.lastIndexOf('/')), { recursive: true, mode: 0o700 });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { file, temp };
  }

  async get(name: string): Promise<string | null> {
    try {
      return await readFile(join(this.root, checkBlobName(name)), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async delete(name: string): Promise<void> {
    await rm(join(this.root, checkBlobName(name)), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const folder = prefix.replace(/\/$/, '');
    let names: string[];
    try {
      names = await readdir(join(this.root, folder));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.filter((n) => n.endsWith('.json')).map((n) => `${folder}/${n}`).sort();
  }
}

/** The slice of @google-cloud/storage's Bucket this adapter uses. */
interface GcsFile {
  name: string;
  metadata?: { generation?: string | number };
  save(data: string, options: { resumable: boolean; contentType: string; preconditionOpts?: { ifGenerationMatch?: number } }): Promise<unknown>;
  download(): Promise<[Buffer]>;
  delete(options?: { ignoreNotFound?: boolean }): Promise<unknown>;
}
interface GcsBucket {
  file(name: string, options?: { generation?: string | number }): GcsFile;
  getFiles(options: { prefix: string; versions?: boolean; autoPaginate?: boolean }): Promise<[GcsFile[], ...unknown[]]>;
}

export interface GcsBlobStoreOptions {
  bucket: string;
  /** Object prefix (`vault`), without slashes at either end. */
  prefix: string;
  projectId?: string;
  /** e.g. `http://127.0.0.1:4443` for a stand-in; omitted in production. */
  apiEndpoint?: string;
}

export class GcsBlobStore implements BlobStore {
  private bucket: Promise<GcsBucket> | null = null;

  constructor(private readonly opts: GcsBlobStoreOptions) {}

  describe(): string {
    return `gs://${this.opts.bucket}/${this.opts.prefix}`;
  }

  async put(name: string, text: string): Promise<void> {
    await (await this.getBucket()).file(this.key(name)).save(text, { resumable: false, contentType: 'application/json' });
  }

  /** `ifGenerationMatch: 0`: Cloud Storage writes only if no live object has the name. */
  async create(name: string, text: string): Promise<boolean> {
    try {
      await (await this.getBucket()).file(this.key(name)).save(text, { resumable: false, contentType: 'application/json', preconditionOpts: { ifGenerationMatch: 0 } });
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code === 412) return false;
      throw e;
    }
  }

  async get(name: string): Promise<string | null> {
    try {
      const [data] = await (await this.getBucket()).file(this.key(name)).download();
      return data.toString('utf8');
    } catch (e) {
      if ((e as { code?: unknown }).code === 404) return null;
      throw e;
    }
  }

  /** Every generation of the object, so a versioned bucket keeps no noncurrent copy of a destroyed key. */
  async delete(name: string): Promise<void> {
    const bucket = await this.getBucket();
    const key = this.key(name);
    const [versions] = await bucket.getFiles({ prefix: key, versions: true, autoPaginate: true });
    for (const f of versions.filter((v) => v.name === key)) {
      const generation = f.metadata?.generation;
      await bucket.file(key, generation !== undefined ? { generation } : {}).delete({ ignoreNotFound: true });
    }
    await bucket.file(key).delete({ ignoreNotFound: true });
  }

  async list(prefix: string): Promise<string[]> {
    const [files] = await (await this.getBucket()).getFiles({ prefix: `${this.opts.prefix}/${prefix.replace(/\/$/, '')}/`, autoPaginate: true });
    const root = `${this.opts.prefix}/`;
    return files.map((f) => f.name.slice(root.length)).filter((n) => n.endsWith('.json')).sort();
  }

  private key(name: string): string {
    return `${this.opts.prefix}/${checkBlobName(name)}`;
  }

  private getBucket(): Promise<GcsBucket> {
    this.bucket ??= (async () => {
      const { Storage } = await import('@google-cloud/storage');
      const storage = new Storage({ ...(this.opts.projectId ? { projectId: this.opts.projectId } : {}), ...(this.opts.apiEndpoint ? { apiEndpoint: this.opts.apiEndpoint } : {}) });
      return storage.bucket(this.opts.bucket) as unknown as GcsBucket;
    })().catch((e) => {
      this.bucket = null;
      throw e;
    });
    return this.bucket;
  }
}
