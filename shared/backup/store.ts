import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Where backups live: a folder locally, a Cloud Storage bucket in production. A backup is a set
 * of named files under a backup id; the export and the restore stage files in a local temp folder
 * and move whole files through this port, so both adapters stream and neither holds a backup in
 * memory.
 */
export interface BackupStore {
  /** Human-readable location of one backup, for messages (`/path/to/id`, `gs://bucket/prefix/id`). */
  describe(backupId: string): string;
  put(backupId: string, name: string, localFile: string): Promise<void>;
  fetch(backupId: string, name: string, localFile: string): Promise<void>;
  /** Backup ids, oldest first. */
  list(): Promise<string[]>;
}

export class LocalFolderBackupStore implements BackupStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }
  describe(backupId: string): string {
    return join(this.root, backupId);
  }
  async put(backupId: string, name: string, localFile: string): Promise<void> {
    const dir = join(this.root, backupId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await copyFile(localFile, join(dir, name));
  }
  async fetch(backupId: string, name: string, localFile: string): Promise<void> {
    await copyFile(join(this.root, backupId, name), localFile);
  }
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: string[] = [];
    for (const n of names.sort()) if ((await stat(join(this.root, n))).isDirectory()) out.push(n);
    return out;
  }
}

/** A backup named on the command line: `gs://bucket/prefix/<id>` or a folder `<root>/<id>`. */
export type BackupLocation = { kind: 'gcs'; bucket: string; prefix: string; backupId: string } | { kind: 'folder'; root: string; backupId: string };

export function parseBackupLocation(text: string): BackupLocation {
  const gs = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])\/(.+?)\/*$/.exec(text);
  if (gs) {
    const parts = gs[2]!.split('/');
    return { kind: 'gcs', bucket: gs[1]!, prefix: parts.slice(0, -1).join('/'), backupId: parts.at(-1)! };
  }
  if (text.startsWith('gs://')) throw new Error(`"${text}" is not gs://<bucket>/<prefix>/<backup-id>.`);
  const full = resolve(text);
  return { kind: 'folder', root: dirname(full), backupId: basename(full) };
}

/** Where `backup create --out X` writes: `gs://bucket/prefix` or a folder. */
export type BackupTarget = { kind: 'gcs'; bucket: string; prefix: string } | { kind: 'folder'; root: string };

export function parseBackupTarget(text: string): BackupTarget {
  const gs = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])(?:\/(.*?))?\/*$/.exec(text);
  if (gs) return { kind: 'gcs', bucket: gs[1]!, prefix: gs[2] ?? '' };
  if (text.startsWith('gs://')) throw new Error(`"${text}" is not gs://<bucket>[/<prefix>].`);
  return { kind: 'folder', root: resolve(text) };
}
