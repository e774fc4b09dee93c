import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  STREAM_NAME_MAX_LENGTH,
  STREAM_NAME_PATTERN,
  streamNameProblem,
} from '../../src/contracts/stream-name.js';
import { packageRoot } from '../../src/paths.js';

type Schema = { properties: Record<string, Schema> } & Record<string, unknown>;

function specOf(file: string): Schema {
  const crd = parse(readFileSync(path.join(packageRoot, file), 'utf8')) as {
    spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
  };
  return crd.spec.versions[0]!.schema.openAPIV3Schema.properties['spec']!;
}

describe('the stream-name contract', () => {
  it('counts characters, not UTF-16 units, and names each problem', () => {
    expect(streamNameProblem('🎥'.repeat(STREAM_NAME_MAX_LENGTH))).toBeUndefined();
    expect(streamNameProblem('🎥'.repeat(STREAM_NAME_MAX_LENGTH + 1))).toMatch(/longer than 256/);
    expect(streamNameProblem('')).toMatch(/empty/);
    expect(streamNameProblem(42)).toMatch(/string/);
    expect(streamNameProblem('a\u0000b')).toMatch(/control characters/);
    expect(streamNameProblem('\ud800')).toMatch(/control characters/);
  });

  it('is the rule of both StreamPush CRDs, which are the same file', () => {
    const files = ['crds/streampush.yaml', 'charts/streamfed/crds/streampush.yaml'];
    expect(readFileSync(path.join(packageRoot, files[0]!), 'utf8')).toBe(
      readFileSync(path.join(packageRoot, files[1]!), 'utf8'),
    );
    const spec = specOf(files[0]!);
    for (const field of ['localStreamName', 'remoteStreamName']) {
      expect({ field, ...spec.properties[field] }).toMatchObject({
        field,
        type: 'string',
        minLength: 1,
        maxLength: STREAM_NAME_MAX_LENGTH,
        pattern: STREAM_NAME_PATTERN,
      });
    }
  });
});
