import { z } from 'zod';

/** manifest.json of a logical backup: what is in it and how to prove each file is intact. */
/** 2: subject keys escrowed (docs/decisions/0035) and a copy of the erasure ledger; 1 is still restored. */
export const BACKUP_FORMAT_VERSION = 2;
export const MANIFEST_NAME = 'manifest.json';
export const LEDGER_COPY_NAME = 'erasure-ledger.json';

export const BackupFileSchema = z.strictObject({
  /** File name inside the backup, e.g. `investigations.comments.ndjson.gz`. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+\.ndjson\.gz$/),
  /** Collection group as a path template: `investigations/*\/comments`. */
  collection_group: z.string().min(1),
  documents: z.number().int().nonnegative(),
  /** sha256 (hex) of the compressed file as stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});
export type BackupFile = z.infer<typeof BackupFileSchema>;

export const ManifestSchema = z.strictObject({
  format_version: z.union([z.literal(1), z.literal(BACKUP_FORMAT_VERSION)]),
  backup_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  started_at: z.string(),
  finished_at: z.string(),
  source: z.strictObject({ project: z.string(), database: z.string() }),
  files: z.array(BackupFileSchema),
  total_documents: z.number().int().nonnegative(),
  /** Personal data in documents is exported as stored (already-encrypted fields stay encrypted). */
  encryption: z.literal('as-stored'),
  /** `escrowed`: no live data key in the backup is wrapped by the KEK alone (format 2). */
  subject_keys: z.enum(['as-stored', 'escrowed']).optional(),
  /** The copy of the erasure ledger taken with the backup (format 2). */
  ledger: z.strictObject({ name: z.literal(LEDGER_COPY_NAME), entries: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** A backup's id from its start time: sortable, and safe as a folder or object prefix. */
export function backupIdFor(startedAt: Date): string {
  return `backup-${startedAt.toISOString().replace(/[-:]/g, '').replace('.', '')}`;
}

/** File name for a collection group (ids joined with "."; unusual characters replaced). */
export function fileNameFor(collectionIds: readonly string[], taken: ReadonlySet<string>): string {
  const base = collectionIds.map((id) => id.replace(/[^A-Za-z0-9_-]/g, '_')).join('.');
  let name = `${base}.ndjson.gz`;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}.ndjson.gz`;
  return name;
}
