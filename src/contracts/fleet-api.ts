import { Type, type Static } from '@sinclair/typebox';
import { StreamName } from './stream-name.js';
import { PushChain } from './wcs-protocol.js';
import { PipeProducer, SrtpParametersSchema } from './pipe-media.js';

export type { SrtpParameters } from './pipe-media.js';

/**
 * The member-to-member REST contract of a fleet of media servers: paths, request and response shapes. The
 * serving routes (media/fleet/fleet-routes.ts) and the calling client (media/fleet/member-client.ts) both
 * use this module, so the two sides cannot drift. All paths sit under /rest-api/, so the REST token guards
 * them like any other API call.
 */
export const FleetPaths = {
  /** GET: who this member is and the streams it originates (the health probe). */
  member: '/rest-api/fleet/member',
  /** GET: the members this server knows, up or down (for people and dashboards). */
  members: '/rest-api/fleet/members',
  /** GET: the relays this server runs (fetched from an origin) and serves (to other members). */
  relays: '/rest-api/fleet/relays',
  /** GET: does this member originate the stream? 200 {@link OriginStream} or 404. */
  origin: (name: string): string => `/rest-api/fleet/origin/${encodeURIComponent(name)}`,
  originRoute: '/rest-api/fleet/origin/:name',
  /** POST {@link RelayOffer}: set up the origin's half of a relay, answers {@link RelayAnswer}. */
  relayOffers: '/rest-api/fleet/relay-offers',
  /** GET: the relay's control channel, NDJSON {@link ControlEvent} lines; DELETE: close the origin's half. */
  relay: (id: string): string => `/rest-api/fleet/relay-offers/${encodeURIComponent(id)}`,
  relayRoute: '/rest-api/fleet/relay-offers/:id',
  /** POST {@link NameClaim}: "I accepted a publisher of this name"; answers the winning claim. */
  claims: '/rest-api/fleet/claims',
} as const;

export const OriginStream = Type.Object({
  name: StreamName,
  /** When the origin accepted the publisher (ms since the epoch): the first half of the name-claim order. */
  publishedAt: Type.Number(),
});
export type OriginStream = Static<typeof OriginStream>;

export const MemberInfo = Type.Object({
  memberId: Type.String({ minLength: 1 }),
  /** Where the member's fleet pipes receive media: offers from it must name this address. */
  mediaIp: Type.String(),
  /** The member's WCS signalling ports (ws, and wss when served): pushes to them stay in the fleet. */
  wsPorts: Type.Array(Type.Integer()),
  streams: Type.Array(OriginStream),
});
export type MemberInfo = Static<typeof MemberInfo>;

export const RelayOffer = Type.Object(
  {
    name: StreamName,
    /** The asking member, for the origin's relay listing. */
    memberId: Type.String({ minLength: 1, maxLength: 256 }),
    /** The asking member's PipeTransport. */
    ip: Type.String({ minLength: 1, maxLength: 64 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    srtpParameters: SrtpParametersSchema,
  },
  { additionalProperties: false },
);
export type RelayOffer = Static<typeof RelayOffer>;

/** The origin's pipe consumer's parameters: the asking member produces with them. */
export const RelayedProducer = PipeProducer;
export type RelayedProducer = PipeProducer;

export const RelayAnswer = Type.Object({
  relayId: Type.String(),
  originMemberId: Type.String(),
  publishedAt: Type.Number(),
  ip: Type.String(),
  port: Type.Integer(),
  srtpParameters: SrtpParametersSchema,
  producers: Type.Array(RelayedProducer),
  /** The push chain the origin's publisher came by, if it came by a push: relayed copies keep it. */
  chain: Type.Optional(PushChain),
});
export type RelayAnswer = Static<typeof RelayAnswer>;

/** One line of a relay's control channel. */
export type ControlEvent =
  | { event: 'heartbeat' }
  /** The origin's stream ended normally: players end STOPPED, as local players do. */
  | { event: 'ended'; reason: 'unpublished' | 'closed' };

/** How often the origin writes a heartbeat on a control channel. */
export const CONTROL_HEARTBEAT_MS = 1000;

export const NameClaim = Type.Object(
  {
    name: StreamName,
    memberId: Type.String({ minLength: 1, maxLength: 256 }),
    publishedAt: Type.Number(),
  },
  { additionalProperties: false },
);
export type NameClaim = Static<typeof NameClaim>;

/**
 * The one order that settles two members accepting the same name at once: the earlier publish wins, a tie
 * goes to the lower member id. Both members apply it to the same two claims, so both pick the same winner.
 */
export function claimWins(a: NameClaim, b: NameClaim): boolean {
  if (a.publishedAt !== b.publishedAt) return a.publishedAt < b.publishedAt;
  return a.memberId < b.memberId;
}
