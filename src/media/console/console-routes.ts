import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ConsolePaths, type ConsoleMember, type ConsoleState } from '../../contracts/console-api.js';
import type { MemberDescription } from '../fleet/fleet-members.js';
import { MEMBER_CALL_TIMEOUT_MS } from '../fleet/member-client.js';
import type { MemberStateReader } from './member-state.js';
import { threadCount, type ServerResources } from './server-resources.js';
import { statGroups, statJson, statText } from './wcs-stat.js';
import type { SignallingServer } from '../signalling/ws-server.js';
import type { StreamService } from '../streams/stream-service.js';

/** The page's files: beside this module in src/ (tests) and in dist/ (copied by the build). */
export const consoleStaticDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

export interface ConsoleSources {
  reader: MemberStateReader;
  resources: ServerResources;
  streams: StreamService;
  signalling: SignallingServer;
  /** The other members, and the REST token the fleet shares (members fetch each other's view with it). */
  members: () => MemberDescription[];
  restToken: string | undefined;
  /** The WCS signalling port clients connect to. */
  wsPort: () => number;
}

/**
 * The console: its page at `/` (files under /console/), its data at /rest-api/console/* (console-api.ts),
 * and WCS's statistics at `/?action=stat`, which WCS's own console page polls on every node.
 */
export function registerConsoleRoutes(app: FastifyInstance, sources: ConsoleSources): void {
  const page = readFileSync(path.join(consoleStaticDir, 'index.html'), 'utf8');
  void app.register(fastifyStatic, {
    root: consoleStaticDir,
    prefix: '/console/',
    index: false,
    decorateReply: false,
  });

  app.get<{ Querystring: { action?: string; format?: string; groups?: string } }>(
    '/',
    async (request, reply) => {
      const { action, format, groups } = request.query;
      if (action === undefined) return reply.type('text/html; charset=utf-8').send(page);
      if (action !== 'stat') return reply.status(404).type('text/plain').send(`unknown action ${action}`);
      const streams = sources.streams.find();
      const stat = statGroups({
        connections: sources.signalling.connections().length,
        streams,
        cpuPercent: (await sources.resources.read()).process.cpuPercent,
        threads: threadCount(),
      });
      if (format === 'json') return statJson(stat, streams, groups);
      return reply.type('text/plain; charset=utf-8').send(statText(stat));
    },
  );

  app.get(ConsolePaths.member, () => sources.reader.read());

  app.get(ConsolePaths.state, async (request): Promise<ConsoleState> => {
    const [self, members] = await Promise.all([
      sources.reader.read(),
      Promise.all(sources.members().map((m) => memberView(m, sources.restToken))),
    ]);
    return { self, members, wsPort: sources.wsPort(), access: request.restAccess ?? 'read' };
  });
}

/** A member's own view, fetched with the fleet's token; a member down or not answering is shown down. */
async function memberView(member: MemberDescription, token: string | undefined): Promise<ConsoleMember> {
  const base = { memberId: member.memberId, restUrl: member.restUrl, up: member.up };
  if (!member.up) return base;
  try {
    const response = await fetch(`${member.restUrl.replace(/\/+$/, '')}${ConsolePaths.member}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(MEMBER_CALL_TIMEOUT_MS),
    });
    if (!response.ok) return { ...base, error: `${ConsolePaths.member} answered ${response.status}` };
    return { ...base, state: (await response.json()) as ConsoleState['self'] };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  }
}
