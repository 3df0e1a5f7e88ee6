import { AppError } from '../platform/errors.js';

/**
 * A request refused because it would let one person both ask for and approve something
 * (docs/decisions/0041): releasing a legal hold one placed, granting oneself a role that approves.
 * 403 with the stable type `separation-of-duties` and the rule that refused it.
 */
export type SeparationRule = 'hold-release-by-placer' | 'self-grant';

export class SeparationOfDutiesError extends AppError {
  constructor(
    readonly rule: SeparationRule,
    detail: string,
    extras: Record<string, unknown> = {},
  ) {
    super('separation-of-duties', 403, 'Separation of duties', detail, { rule, ...extras });
  }

  /** What the request's audit record says: the rule, not just the type. */
  get auditReason(): string {
    return `separation of duties: ${this.rule}`;
  }
}

/** Runs a use case; a separation-of-duties refusal names its rule in the request's audit record. */
export async function auditingSeparation<T>(ctx: { auditReason: string | null }, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof SeparationOfDutiesError) ctx.auditReason = error.auditReason;
    throw error;
  }
}
