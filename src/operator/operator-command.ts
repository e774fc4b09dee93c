/** Placeholder until the operator lands: `streamfed operator` exits with a clear message. */
export async function runOperator(_argv: string[]): Promise<void> {
  throw new Error('the operator is not part of this build yet');
}
