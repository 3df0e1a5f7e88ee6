import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { ChainHead } from './chain.js';
import { checkpointDue, type CheckpointSigner } from './checkpoint.js';
import type { CheckpointSink } from './checkpoint-sink.js';

export interface AnchorOptions {
  sink: CheckpointSink;
  /** Loaded on the first checkpoint (the key comes from the secret store); a failure is retried. */
  signer: () => Promise<CheckpointSigner>;
  clock: Clock;
  logger: Logger;
  /** Checkpoint after this many new records… */
  every: number;
  /** …or this long after the last checkpoint when there are new records (0: only by count). */
  intervalMs: number;
}

/**
 * Writes signed checkpoints of ONE chain (its writer's) to a separate sink: every `every`
 * records, every `intervalMs` while records keep coming, and on close. One checkpoint is in
 * flight at a time; heads that arrive meanwhile are folded into the next. A failed checkpoint is
 * logged (never the key) and retried at the next cue: the audit write it follows has already
 * succeeded and must not fail because of it. In production every instance writes its own chain,
 * so every instance anchors its own chain; checkpoints of different chains never collide.
 */
export class ChainAnchor {
  private head: ChainHead | null = null;
  private anchoredSeq = -1;
  private lastAtMs: number;
  private writing: Promise<void> | null = null;
  private signer: Promise<CheckpointSigner> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: AnchorOptions) {
    this.lastAtMs = opts.clock.now().getTime();
  }

  /** Called by the chain's appender with each durable head. */
  observe(head: ChainHead): void {
    if (this.head && this.head.chain === head.chain && head.seq <= this.head.seq) return;
    if (this.head && this.head.chain !== head.chain) this.anchoredSeq = -1;
    this.head = head;
    this.startTimer();
    this.maybeCheckpoint();
  }

  /** The interval's cue; public so the local stack's scheduler (or a test) can drive it. */
  maybeCheckpoint(): void {
    if (!this.head) return;
    const due = checkpointDue({ headSeq: this.head.seq, anchoredSeq: this.anchoredSeq, sinceMs: this.opts.clock.now().getTime() - this.lastAtMs }, this.opts);
    if (due) void this.checkpoint();
  }

  /** Writes a checkpoint of the current head unless it is already anchored; resolves when stored. */
  async checkpoint(): Promise<void> {
    while (this.writing) await this.writing;
    const head = this.head;
    if (!head || head.seq <= this.anchoredSeq) return;
    this.writing = this.write(head).finally(() => {
      this.writing = null;
    });
    await this.writing;
  }

  /** Clean shutdown: the last head is anchored before the process goes. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checkpoint();
  }

  private async write(head: ChainHead): Promise<void> {
    try {
      const signer = await this.getSigner();
      const time = this.opts.clock.now().toISOString();
      await this.opts.sink.put(signer.sign({ chain: head.chain, seq: head.seq, count: head.seq + 1, head_hash: head.hash, time }));
      if (this.head?.chain === head.chain) this.anchoredSeq = Math.max(this.anchoredSeq, head.seq);
      this.lastAtMs = this.opts.clock.now().getTime();
    } catch (error) {
      this.opts.logger.warn('audit checkpoint failed; retried at the next cue', { chain: head.chain, seq: head.seq, sink: this.opts.sink.describe(), error: error instanceof Error ? error.message : String(error) });
    }
  }

  private getSigner(): Promise<CheckpointSigner> {
    this.signer ??= this.opts.signer().catch((error) => {
      this.signer = null;
      throw error;
    });
    return this.signer;
  }

  private startTimer(): void {
    if (this.timer || this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => this.maybeCheckpoint(), Math.min(this.opts.intervalMs, 60_000));
    this.timer.unref();
  }
}
