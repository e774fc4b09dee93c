import { allocateMediaPorts, launchMedia, type MediaPorts, type MediaProcess } from './media-process.js';
import { waitFor } from './media-server.js';
import { metric } from './metrics.js';

export interface FleetMember {
  process: MediaProcess;
  restUrl: string;
  wsUrl: string;
  memberId: string;
  ports: MediaPorts;
}

export const restUrlOf = (ports: MediaPorts): string => `http://127.0.0.1:${ports.rest}`;

/**
 * `count` media processes joined into one fleet by `--peers` (each lists the others), with member ids
 * m1, m2, ... `extraArgs` go to every member.
 */
export async function spawnFleet(count: number, extraArgs: string[] = []): Promise<FleetMember[]> {
  const ports: MediaPorts[] = [];
  for (let i = 0; i < count; i++) ports.push(await allocateMediaPorts());
  const started = await Promise.allSettled(
    ports.map(async (own, i) => {
      const peers = ports.filter((p) => p !== own).map(restUrlOf);
      const memberId = `m${i + 1}`;
      const args = [
        '--member-id',
        memberId,
        ...(peers.length ? ['--peers', peers.join(',')] : []),
        ...extraArgs,
      ];
      const process = await launchMedia(own, args, {}, {});
      return { process, restUrl: process.restUrl, wsUrl: process.wsUrl, memberId, ports: own };
    }),
  );
  const members = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    await waitFor(
      async () =>
        (
          await Promise.all(members.map((m) => metric(m.restUrl, 'streamfed_fleet_members', { state: 'up' })))
        ).every((n) => n === count - 1),
      'every member to see the others up',
    );
  } catch (error) {
    // a fleet that did not come up is no test's to stop: its members go now
    await Promise.all(members.map((m) => m.process.kill()));
    throw error;
  }
  return members;
}

/** Waits until no member has relays (fetched or served), pipe transports or WebRTC transports left. */
export async function waitFleetIdle(members: FleetMember[]): Promise<void> {
  for (const m of members) {
    await waitFor(
      async () =>
        (await metric(m.restUrl, 'streamfed_fleet_relays')) === 0 &&
        (await metric(m.restUrl, 'streamfed_fleet_relays_served')) === 0 &&
        (await metric(m.restUrl, 'streamfed_mediasoup_objects', { type: 'transport' })) === 0 &&
        (await metric(m.restUrl, 'streamfed_mediasoup_objects', { type: 'pipe_transport' })) === 0,
      `relays and transports back to zero on ${m.memberId}`,
      20_000,
    );
  }
}

export interface ListedMember {
  restUrl: string;
  memberId?: string;
  up: boolean;
}

/** The members a server lists at GET /rest-api/fleet/members (none when it does not answer 200). */
export async function fleetMembers(restUrl: string): Promise<ListedMember[]> {
  const response = await fetch(`${restUrl}/rest-api/fleet/members`);
  return response.status === 200 ? ((await response.json()) as { members: ListedMember[] }).members : [];
}
