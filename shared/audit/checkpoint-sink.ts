import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, StoredCheckpoint } from './checkpoint.js';

/**
 * Where checkpoints go: never the audit log itself. One object per checkpoint, named
 * `<chain>/<seq, 12 digits>.json`, created only if absent (a checkpoint is never overwritten).
 */
export interface CheckpointSink {
  put(checkpoint: Checkpoint): Promise<void>;
  /** Every stored checkpoint (of one chain, if given), parsed as JSON but not validated. */
  list(chain?: string): Promise<StoredCheckpoint[]>;
  describe(): string;
}

const objectName = (c: Checkpoint) => `${c.chain}/${String(c.seq).padStart(12, '0')}.json`;
const body = (c: Checkpoint) => JSON.stringify(c) + '\n';

function parse(where: string, text: string): StoredCheckpoint {
  try {
    return { where, value: JSON.parse(text) };
  } catch {
    return { where, value: text };
  }
}

/** `EEXIST` / HTTP 412 for the same content is a retry of our own write; anything else is a fork. */
class CheckpointExistsError extends Error {
  override name = 'CheckpointExistsError';
}

/**
 * Local sink: `<dataDir>/audit-checkpoints/<chain, URI-encoded>/<seq>.json`, 0600 files in 0700
 * folders, each written completely and synced before it counts (open `wx`: never replaced).
 */
export class LocalCheckpointSink implements CheckpointSink {
  constructor(readonly dir: string) {}

  describe(): string {
    return this.dir;
  }

  async put(checkpoint: Checkpoint): Promise<void> {
    const folder = join(this.dir, encodeURIComponent(checkpoint.chain));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const file = join(folder, `${String(checkpoint.seq).padStart(12, '0')}.json`);
    let handle;
    try {
      handle = await open(file, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if ((await readFile(file, 'utf8')) === body(checkpoint)) return;
      throw new CheckpointExistsError(`a different checkpoint already exists at ${file}`);
    }
    try {
      await handle.writeFile(body(checkpoint), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async list(chain?: string): Promise<StoredCheckpoint[]> {
    const folders = chain === undefined ? await entries(this.dir) : [encodeURIComponent(chain)];
    const out: StoredCheckpoint[] = [];
    for (const folder of folders.sort()) {
      for (const name of (await entries(join(this.dir, folder))).filter((n) => n.endsWith('.json')).sort()) {
        const file = join(this.dir, folder, name);
        out.push(parse(file, await readFile(file, 'utf8')));
      }
    }
    return out;
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

/** The slice of @google-cloud/storage's Bucket this adapter uses. */
interface BucketLike {
  file(name: string): {
    save(data: string, options: { resumable: boolean; contentType: string; preconditionOpts: { ifGenerationMatch: number } }): Promise<unknown>;
    download(): Promise<[Buffer]>;
  };
  getFiles(options: { prefix: string; autoPaginate: boolean }): Promise<[{ name: string }[], ...unknown[]]>;
}

export interface GcsCheckpointSinkOptions {
  bucket: string;
  /** Object prefix (`audit-checkpoints`), no slashes at either end; may be empty. */
  prefix: string;
  projectId?: string;
  /** e.g. `http://127.0.0.1:4443` for a stand-in; omitted in production. */
  apiEndpoint?: string;
}

/**
 * Production sink: `gs://<bucket>/<prefix>/<chain>/<seq>.json`, created with
 * `ifGenerationMatch=0` so an existing checkpoint is never replaced. The bucket (Terraform) has a
 * locked retention policy: nobody, the project owner included, can delete or overwrite an object
 * before it expires, which is what makes the checkpoints an anchor. The writer's service account
 * needs only `storage.objects.create`; verifiers need `storage.objects.list`/`get`.
 */
export class GcsCheckpointSink implements CheckpointSink {
  private bucket: Promise<BucketLike> | null = null;

  constructor(private readonly opts: GcsCheckpointSinkOptions) {}

  describe(): string {
    return `gs://${this.opts.bucket}/${this.opts.prefix}`.replace(/\/$/, '');
  }

  async put(checkpoint: Checkpoint): Promise<void> {
    const file = (await this.getBucket()).file(this.key(objectName(checkpoint)));
    try {
      await file.save(body(checkpoint), { resumable: false, contentType: 'application/json', preconditionOpts: { ifGenerationMatch: 0 } });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 412) throw error;
      const [existing] = await file.download();
      if (existing.toString('utf8') === body(checkpoint)) return;
      throw new CheckpointExistsError(`a different checkpoint already exists at ${this.describe()}/${objectName(checkpoint)}`);
    }
  }

  async list(chain?: string): Promise<StoredCheckpoint[]> {
    const bucket = await this.getBucket();
    const [files] = await bucket.getFiles({ prefix: this.key(chain === undefined ? '' : `${chain}/`), autoPaginate: true });
    const out: StoredCheckpoint[] = [];
    for (const f of files.filter((x) => x.name.endsWith('.json')).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const [data] = await bucket.file(f.name).download();
      out.push(parse(`gs://${this.opts.bucket}/${f.name}`, data.toString('utf8')));
    }
    return out;
  }

  private key(name: string): string {
    return this.opts.prefix ? `${this.opts.prefix}/${name}` : name;
  }

  private getBucket(): Promise<BucketLike> {
    this.bucket ??= (async () => {
      const { Storage } = await import('@google-cloud/storage');
      const storage = new Storage({ ...(this.opts.projectId ? { projectId: this.opts.projectId } : {}), ...(this.opts.apiEndpoint ? { apiEndpoint: this.opts.apiEndpoint } : {}) });
      return storage.bucket(this.opts.bucket) as unknown as BucketLike;
    })().catch((e) => {
      this.bucket = null;
      throw e;
    });
    return this.bucket;
  }
}
