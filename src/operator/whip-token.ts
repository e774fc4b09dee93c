import { OperatorErrorCode } from '../contracts/error-policy.js';
import type { SecretKeyRef } from './api.js';
import { kubeFailure, type Kube } from './kube.js';
import { MediaApiError } from './media-api.js';

/**
 * The Secret a StreamPush's `spec.target.whip.tokenSecretRef` names could not give its token: missing,
 * forbidden, without that key, or empty. Its message names the Secret and the key, never a value.
 */
export class TokenSecretError extends MediaApiError {
  constructor(message: string) {
    super(OperatorErrorCode.SECRET_UNRESOLVED, message);
  }
}

/**
 * The bearer token of a WHIP target: the named key of a Secret in the StreamPush's own namespace (a
 * StreamPush cannot name another namespace's Secret: whoever may create one there could otherwise have the
 * operator send any Secret it can read to a URL of their choosing). Read when a push is made, not cached:
 * a rotated token is used from the next push on. Surrounding whitespace (a file's trailing newline) is
 * dropped. The token goes into the push request only: never into status, Events, logs or error messages.
 */
export async function readWhipToken(kube: Kube, namespace: string, ref: SecretKeyRef): Promise<string> {
  const what = `Secret ${namespace}/${ref.name}`;
  let data: Record<string, string> | undefined;
  try {
    data = (await kube.readSecret(namespace, ref.name)).data;
  } catch (error) {
    throw new TokenSecretError(`${what} could not be read: ${kubeFailure(error)}`);
  }
  const encoded = data?.[ref.key];
  if (encoded === undefined) throw new TokenSecretError(`${what} has no key ${JSON.stringify(ref.key)}`);
  const token = Buffer.from(encoded, 'base64').toString('utf8').trim();
  if (!token) throw new TokenSecretError(`${what} key ${JSON.stringify(ref.key)} is empty`);
  // a header value cannot carry line breaks or other control characters: refuse rather than send it mangled
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(token))
    throw new TokenSecretError(`${what} key ${JSON.stringify(ref.key)} holds control characters`);
  return token;
}
