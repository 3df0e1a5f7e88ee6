/**
 * A gRPC status returned by the local Firestore emulator. This is wire protocol, not an
 * application error: the app only ever sees it as the `@google-cloud/firestore` client's error
 * (code + message), exactly as it would from real Firestore, and maps that in its own adapter.
 */
export const Status = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: StatusCode,
    /** Sent to the client as the status details. */
    readonly details: string,
  ) {
    super(details);
  }
}

/** A Firestore feature the local emulator deliberately does not implement. */
export const unsupported = (what: string): RpcError =>
  new RpcError(Status.UNIMPLEMENTED, `The local Firestore emulator does not support ${what} (see docs/decisions/0002-local-firestore-emulator.md).`);
