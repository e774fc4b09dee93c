import type { Logger } from '../../log.js';
import { KubeMembership, type KubeMembershipOptions } from './kube-membership.js';
import { StaticMembership, type Membership } from './membership.js';

/** How a media server finds and treats the other members of its fleet. */
export interface FleetOptions {
  /** This server's id in its fleet (`--member-id`; default: media-options.ts memberIdOf). */
  memberId?: string | undefined;
  /** The id this server announces as its fleet's (`--fleet-id`; default: push-chain.ts fleetIdOf). */
  fleetId?: string | undefined;
  /** REST base URLs of the other members (`--peers`). */
  peers: string[];
  /** Discovery of the media pods through the Kubernetes API (`--fleet-kube-selector`). */
  kube?: KubeMembershipOptions | undefined;
  /** A relay nothing uses is closed after this long. */
  relayIdleMs: number;
  /** How often every member is probed. */
  probeIntervalMs: number;
}

/** The one membership source the options name: the pods in a cluster, else the fixed list. */
export function membershipOf(options: FleetOptions, log: Logger): Membership {
  return options.kube ? new KubeMembership(options.kube, log) : new StaticMembership(options.peers);
}
