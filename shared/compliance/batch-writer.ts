import type { DocumentReference, Firestore, WriteBatch } from '@google-cloud/firestore';

const COMMIT_AT = 450;

/** Collects writes and commits them in batches under Firestore's 500-writes-per-batch limit. */
export class BatchWriter {
  private batch: WriteBatch;
  private n = 0;
  commits = 0;
  constructor(private readonly db: Firestore) {
    this.batch = db.batch();
  }
  async delete(ref: DocumentReference): Promise<void> {
    this.batch.delete(ref);
    await this.bump();
  }
  async update(ref: DocumentReference, data: Record<string, unknown>): Promise<void> {
    this.batch.update(ref, data);
    await this.bump();
  }
  async set(ref: DocumentReference, data: Record<string, unknown>): Promise<void> {
    this.batch.set(ref, data);
    await this.bump();
  }
  private async bump(): Promise<void> {
    if (++this.n >= COMMIT_AT) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.n) return;
    const b = this.batch;
    this.batch = this.db.batch();
    this.n = 0;
    this.commits++;
    await b.commit();
  }
}
