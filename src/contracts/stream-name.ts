import { Type } from '@sinclair/typebox';

/**
 * The one rule for stream names, at every entry point (publish, play, availableStream, REST, push, pull,
 * the StreamPush CRD): 1 to 256 Unicode characters (code points, as JSON Schema and Kubernetes count them),
 * none of them a control character, a lone surrogate or a line/paragraph separator. Anything else is a
 * name: spaces, `/`, `..`, markup, emoji. A name is data: it is never written raw into SDP or other syntax.
 */
export const STREAM_NAME_MAX_LENGTH = 256;

/** The pattern as JSON Schema (ajv's `u` flag) and Kubernetes (Go RE2) both read it. */
export const STREAM_NAME_PATTERN = '^[^\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}]+$';

const pattern = new RegExp(STREAM_NAME_PATTERN, 'u');

/** The JSON schema of a stream name, for route and message schemas. */
export const StreamName = Type.String({
  minLength: 1,
  maxLength: STREAM_NAME_MAX_LENGTH,
  pattern: STREAM_NAME_PATTERN,
});

/** Why `name` is not a valid stream name, or undefined when it is. */
export function streamNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'stream name must be a string';
  const length = [...name].length;
  if (length === 0) return 'stream name must not be empty';
  if (length > STREAM_NAME_MAX_LENGTH)
    return `stream name is longer than ${STREAM_NAME_MAX_LENGTH} characters`;
  if (!pattern.test(name)) return 'stream name must not contain control characters or line separators';
  return undefined;
}
