import type { BackupStore } from './store.js';

/** The slice of @google-cloud/storage's Bucket this adapter uses. */
interface BucketLike {
  upload(path: string, options: { destination: string; resumable?: boolean; contentType?: string; metadata?: Record<string, unknown> }): Promise<unknown>;
  file(name: string): { download(options: { destination: string }): Promise<unknown> };
  getFiles(options: { prefix: string; delimiter?: string; autoPaginate?: boolean }): Promise<[unknown[], unknown, { prefixes?: string[] } | undefined]>;
}

export interface GcsBackupStoreOptions {
  bucket: string;
  /** Object prefix under which backups live (`prod/firestore`), without slashes at either end. */
  prefix: string;
  projectId?: string;
  /** e.g. `http://127.0.0.1:4443` for a stand-in; omitted in production. */
  apiEndpoint?: string;
}

/**
 * Backups in Cloud Storage: `gs://<bucket>/<prefix>/<backup-id>/<file>`. The client is loaded
 * on first use. Retention and immutability are the bucket's job (Terraform: retention policy,
 * object versioning, a separate project for the backup bucket).
 */
export class GcsBackupStore implements BackupStore {
  private bucket: Promise<BucketLike> | null = null;

  constructor(private readonly opts: GcsBackupStoreOptions) {}

  describe(backupId: string): string {
    return `gs://${this.opts.bucket}/${this.key(backupId, '')}`.replace(/\/$/, '');
  }

  async put(backupId: string, name: string, localFile: string): Promise<void> {
    const bucket = await this.getBucket();
    await bucket.upload(localFile, { destination: this.key(backupId, name), resumable: false, contentType: name.endsWith('.json') ? 'application/json' : 'application/gzip' });
  }

  async fetch(backupId: string, name: string, localFile: string): Promise<void> {
    const bucket = await this.getBucket();
    await bucket.file(this.key(backupId, name)).download({ destination: localFile });
  }

  async list(): Promise<string[]> {
    const bucket = await this.getBucket();
    const prefix = this.opts.prefix ? `${this.opts.prefix}/` : '';
    const [, , response] = await bucket.getFiles({ prefix, delimiter: '/', autoPaginate: false });
    return (response?.prefixes ?? []).map((p) => p.slice(prefix.length).replace(/\/$/, '')).sort();
  }

  private key(backupId: string, name: string): string {
    return [this.opts.prefix, backupId, name].filter((p) => p !== '').join('/') + (name === '' ? '/' : '');
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
