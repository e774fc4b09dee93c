import { describe, expect, it } from 'vitest';
import type { NameClaim } from '../../src/contracts/fleet-api.js';
import { settle } from '../../src/media/fleet/name-claims.js';

const claim = (memberId: string, publishedAt: number): NameClaim => ({ name: 'cam', memberId, publishedAt });

describe("name claims: how another member's claim settles against ours", () => {
  it('without a publisher of ours the other claim stands and nothing of ours is lost', () => {
    const theirs = claim('m2', 100);
    expect(settle(undefined, theirs)).toEqual({ winner: theirs, oursLost: false });
  });

  it('the older claim wins, on either side', () => {
    const older = claim('m1', 100);
    const newer = claim('m2', 200);
    expect(settle(older, newer)).toEqual({ winner: older, oursLost: false });
    expect(settle(newer, older)).toEqual({ winner: older, oursLost: true });
  });

  it('a tie goes to the lower member id, so both members pick the same winner', () => {
    const m1 = claim('m1', 100);
    const m2 = claim('m2', 100);
    expect(settle(m1, m2)).toEqual({ winner: m1, oursLost: false });
    expect(settle(m2, m1)).toEqual({ winner: m1, oursLost: true });
  });
});
