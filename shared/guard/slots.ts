import { WarehouseBusyError } from './errors.js';

/**
 * A bounded number of warehouse queries in flight per instance; the rest wait in FIFO order, and
 * past `maxQueued` waiting a new one is refused (503, retryable) rather than piling up unbounded.
 */
export class Slots {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
  ) {}

  async acquire(): Promise<() => void> {
    if (this.inFlight >= this.max) {
      if (this.waiting.length >= this.maxQueued) throw new WarehouseBusyError(this.waiting.length);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.inFlight++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so inFlight never drops below the queue's demand.
      if (next) next();
      else this.inFlight--;
    };
  }

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
