/**
 * The contract between the generic controller loop (controller.ts) and whatever reconciles its objects, as
 * controller-runtime's pkg/reconcile has it: a result that asks only to look again (or not), and an error that
 * says only whether trying again can help. What an object means stays with its reconciler.
 */

/** What a reconcile asks of the loop: look again after this long even if nothing changes. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * A reconcile that did not reach the desired state. `retry` false: only a change of the object can help, so
 * the loop does not back off and try again (controller-runtime's TerminalError). `reason` is for logs.
 */
export class ReconcileError extends Error {
  override readonly name = 'ReconcileError';
  constructor(
    readonly reason: string,
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/** The reconciler the loop drives. */
export interface ObjectReconciler<T> {
  reconcile(o: T): Promise<ReconcileResult>;
  /** The object is gone from the API server (after its finalizers ran, or removed without them). */
  deleted(o: T): void;
}
