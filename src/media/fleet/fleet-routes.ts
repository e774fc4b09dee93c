import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { FleetPaths, NameClaim, RelayOffer } from '../../contracts/fleet-api.js';
import { StreamName } from '../../contracts/stream-name.js';
import { errorBody } from '../rest/rest-server.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import type { Fleet } from './fleet.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const NameParams = Type.Object({ name: StreamName });

const notOrigin = (name: string): FleetError =>
  new FleetError(FleetErrorCode.NOT_ORIGIN, `stream ${name} is not published on this member`);

/** /rest-api/fleet/*: the member-to-member contract (contracts/fleet-api.ts) and the fleet's own view. */
export function registerFleetRoutes(app: FastifyInstance, fleet: Fleet): void {
  app.get(FleetPaths.member, async () => fleet.info());
  app.get(FleetPaths.members, async () => ({ memberId: fleet.memberId, members: fleet.members() }));
  app.get(FleetPaths.relays, async () => fleet.relays());

  app.get<{ Params: { name: string } }>(
    FleetPaths.originRoute,
    { schema: { params: NameParams } },
    async (request) => {
      const publisher = fleet.originOf(request.params.name);
      if (!publisher) throw notOrigin(request.params.name);
      return { name: publisher.name, publishedAt: publisher.createdAt };
    },
  );

  app.post<{ Body: RelayOffer }>(
    FleetPaths.relayOffers,
    { schema: { body: RelayOffer } },
    async (request) => {
      try {
        await fleet.checkOffer(request.body);
        const publisher = fleet.originOf(request.body.name);
        if (!publisher) throw notOrigin(request.body.name);
        return await fleet.origin.serve(request.body, publisher);
      } catch (error) {
        if (error instanceof FleetError) throw error;
        throw new FleetError(FleetErrorCode.RELAY_REFUSED, (error as Error).message);
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    FleetPaths.relayRoute,
    { schema: { params: IdParams } },
    async (request, reply) => {
      // the control channel: the raw response stays open, written by the relay's origin half
      reply.hijack();
      if (!fleet.origin.attach(request.params.id, reply.raw)) {
        reply.raw.writeHead(404, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify(errorBody(new FleetError(FleetErrorCode.NOT_ORIGIN, 'no such relay'))));
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    FleetPaths.relayRoute,
    { schema: { params: IdParams } },
    async (request, reply) => {
      if (!fleet.origin.close(request.params.id))
        throw new FleetError(FleetErrorCode.NOT_ORIGIN, 'no such relay');
      return reply.status(204).send();
    },
  );

  app.post<{ Body: NameClaim }>(FleetPaths.claims, { schema: { body: NameClaim } }, async (request) =>
    fleet.settleClaim(request.body),
  );
}
