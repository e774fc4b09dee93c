import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  OperatorErrorCode,
  errorCodeOf,
  errorPolicies,
  type ErrorPolicy,
} from '../../src/contracts/error-policy.js';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { RestErrorCode } from '../../src/contracts/rest-error.js';
import { packageRoot } from '../../src/paths.js';

/** README's "What each code does" table: the policy of each code it names (the operator's own by order). */
function readmeTable(): { byCode: Map<string, ErrorPolicy>; unnamed: ErrorPolicy[] } {
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('#### What each code does'));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| code') && !line.startsWith('| ---'));
  const byCode = new Map<string, ErrorPolicy>();
  const unnamed: ErrorPolicy[] = [];
  for (const row of rows) {
    const [codes, reason, retry, event] = row
      .split('|')
      .slice(1, 5)
      .map((c) => c.trim());
    const policy = {
      reason: reason!.replace(/`/g, ''),
      retry: retry as ErrorPolicy['retry'],
      event: event as ErrorPolicy['event'],
    };
    if (codes!.startsWith('(')) unnamed.push(policy);
    for (const [, code] of codes!.matchAll(/`([A-Z_]+)`/g)) byCode.set(code!, policy);
  }
  return { byCode, unnamed };
}

describe('the error policy table', () => {
  it('is what README says, code for code', () => {
    const { byCode, unnamed } = readmeTable();
    const operatorOwn: string[] = Object.values(OperatorErrorCode);
    const wire = Object.entries(errorPolicies).filter(([code]) => !operatorOwn.includes(code));
    expect(Object.fromEntries(byCode)).toEqual(Object.fromEntries(wire));
    expect(unnamed).toEqual([
      errorPolicies[OperatorErrorCode.SOURCE_UNREACHABLE],
      errorPolicies[OperatorErrorCode.SERVICE_UNRESOLVED],
      errorPolicies[OperatorErrorCode.SECRET_UNRESOLVED],
    ]);
  });

  it('reads the code of the body, and the status only when there is no code it knows', () => {
    expect(errorCodeOf({ code: PushFailureCode.LOOP }, 409)).toBe(PushFailureCode.LOOP);
    expect(errorCodeOf({ code: RestErrorCode.UNAUTHORIZED }, 401)).toBe(RestErrorCode.UNAUTHORIZED);
    // a foreign or older server: the generic code of its status
    expect(errorCodeOf(undefined, 401)).toBe(RestErrorCode.UNAUTHORIZED);
    expect(errorCodeOf('Conflict', 409)).toBe(RestErrorCode.CONFLICT);
    expect(errorCodeOf({ code: 'SOMEONE_ELSES_CODE' }, 500)).toBe(RestErrorCode.INTERNAL);
    expect(errorCodeOf({ code: 'toString' }, 400)).toBe(RestErrorCode.BAD_REQUEST);
    // a loop and an auth failure are never retried as if transient
    expect(errorPolicies[PushFailureCode.LOOP].retry).toBe('never');
    expect(errorPolicies[RestErrorCode.UNAUTHORIZED].retry).toBe('never');
  });
});
