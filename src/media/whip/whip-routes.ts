import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  STREAMFED_CHAIN_HEADER,
  STREAMFED_FLEET_HEADER,
  WHIP_ALLOWED_HEADERS,
  WHIP_ENDPOINT_METHODS,
  WHIP_EXPOSED_HEADERS,
  WHIP_SESSION_METHODS,
  WhipErrorCode,
  WhipMediaType,
  WhipPath,
  decodeChainHeader,
  formatSdpFragment,
  iceServerLinks,
  ifMatch,
  mediaTypeOf,
  isIceRestart,
  parseSdpFragment,
  problem,
  type IceServer,
  type WhipKind,
} from '../../contracts/whip-http.js';
import { WhipError } from '../errors.js';
import { sameSecret } from '../same-secret.js';
import { errorBody } from '../rest/rest-server.js';
import { SdpError, parseOffer, type ParsedOffer } from '../rtc/sdp-offer.js';
import type { StreamAdmission } from '../streams/admission.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import { WhipSession } from './whip-session.js';
import { WhipSessions } from './whip-sessions.js';

export interface WhipRoutesOptions {
  /** Decides and starts publishes and plays, as for the WebSocket sessions. */
  admission: StreamAdmission;
  /** STUN/TURN servers announced as `Link: rel="ice-server"` on the 201 and on OPTIONS (read per answer: TURN credentials may be minted per session). */
  iceServers: () => readonly IceServer[];
  /** A session whose ICE and DTLS are not up this long after its 201 ends FAILED (default 30 s). */
  connectDeadlineMs?: number | undefined;
}

const bearer = (header: string | undefined): string | undefined =>
  /^Bearer +(\S+)\s*$/i.exec(header ?? '')?.[1];

/** Refusals as RFC 9457 problem details with the stable `code` (errorBody picks code and status). */
function answerProblem(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const body = errorBody(error);
  const code =
    body.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? WhipErrorCode.UNSUPPORTED_MEDIA_TYPE : body.code;
  void reply
    .status(body.statusCode)
    .type(WhipMediaType.PROBLEM)
    .send(problem(body.statusCode, body.error, code, body.message));
}

/**
 * WHIP ingest and WHEP playback on the REST port (paths: whip-http.ts). A WHIP POST publishes a stream and a
 * WHEP POST plays one, through the same admission as a WCS client's publishStream/playStream (name rule,
 * loops, bound tokens, REST hooks, one publisher per name in the fleet, plays relayed from other members).
 * Each 201 makes a WhipSession at an unguessable `Location`: DELETE ends it, PATCH trickles candidates (an
 * ICE-lite server needs none: acknowledged) or restarts ICE. CORS for pages on other origins; the REST
 * credentials are not asked for here (the bearer token goes to the hooks instead, see rest-auth.ts).
 */
export function registerWhipRoutes(app: FastifyInstance, options: WhipRoutesOptions): void {
  const { admission, iceServers } = options;
  const sessions = new WhipSessions();

  for (const type of [WhipMediaType.SDP, WhipMediaType.TRICKLE_ICE])
    if (!app.hasContentTypeParser(type)) app.addContentTypeParser(type, { parseAs: 'string' }, stringBody);

  const cors = (methods: readonly string[]) => ({
    cors: {
      methods: methods.join(', '),
      allowedHeaders: [...WHIP_ALLOWED_HEADERS],
      exposedHeaders: [...WHIP_EXPOSED_HEADERS, STREAMFED_FLEET_HEADER],
      // OPTIONS is answered by the route below (Accept-Post, Link), preflight or not
      preflightContinue: true,
      strictPreflight: false,
    },
  });
  const announce = (reply: FastifyReply): FastifyReply => {
    const links = iceServerLinks(iceServers());
    if (links.length > 0) void reply.header('link', links);
    return reply.header(STREAMFED_FLEET_HEADER, admission.fleetId());
  };

  const endpoint = (kind: WhipKind) => ({
    config: cors(WHIP_ENDPOINT_METHODS),
    errorHandler: answerProblem,
    handler: async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
      if (request.method === 'OPTIONS')
        return announce(reply)
          .header('accept-post', WhipMediaType.SDP)
          .header('allow', WHIP_ENDPOINT_METHODS.join(', '))
          .status(204)
          .send();
      const session = await start(kind, request);
      return announce(reply)
        .status(201)
        .type(WhipMediaType.SDP)
        .header('location', session.path)
        .header('etag', session.etag)
        .header('accept-patch', WhipMediaType.TRICKLE_ICE)
        .send(session.answer);
    },
  });

  const start = async (
    kind: WhipKind,
    request: FastifyRequest<{ Params: { name: string } }>,
  ): Promise<{ path: string; etag: string; answer: string }> => {
    if (mediaTypeOf(request.headers['content-type']) !== WhipMediaType.SDP)
      throw new WhipError(WhipErrorCode.UNSUPPORTED_MEDIA_TYPE, `the offer must be ${WhipMediaType.SDP}`);
    const sdp = request.body;
    const offer = readOffer(kind, sdp);
    const token = bearer(request.headers.authorization);
    const publish = kind === 'whip';
    const chain = publish ? decodeChainHeader(request.headers[STREAMFED_CHAIN_HEADER] as string) : undefined;
    const init: MediaSessionInit = {
      appKey: 'defaultApp',
      sessionId: `/${randomUUID()}`,
      mediaSessionId: randomUUID(),
      name: request.params.name,
      mediaProvider: publish ? 'WHIP' : 'WHEP',
      ...(chain ? { chain } : {}),
    };
    const custom = token !== undefined ? { token } : {};
    // A WHIP/WHEP request is a connection and a publish (play) at once: the hooks hear both, the bearer
    // token where a WCS client puts its auth data (`custom`), so one backend authorises every way in.
    const connection = {
      appKey: init.appKey,
      mediaProviders: [init.mediaProvider],
      clientVersion: request.headers['user-agent'] ?? 'unknown',
      custom,
    };
    await admission.hooks.connect(init.sessionId, connection);
    const fields = {
      name: init.name,
      mediaSessionId: init.mediaSessionId,
      mediaProvider: init.mediaProvider,
      custom,
    };
    const request_ = { init, fields, sdp, ...(publish ? { token } : {}) };
    const { session: stream, answer } = publish
      ? await admission.publish(request_)
      : await admission.play(request_);
    const session = new WhipSession(
      kind,
      stream,
      token,
      offer.ice,
      admission.hooks,
      connection,
      options.connectDeadlineMs ?? 30_000,
    );
    sessions.add(session);
    return { path: session.path, etag: session.etag, answer };
  };

  const sessionRoute = (kind: WhipKind) => ({
    config: cors(WHIP_SESSION_METHODS),
    errorHandler: answerProblem,
    handler: async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      if (request.method === 'OPTIONS')
        return announce(reply)
          .header('accept-patch', WhipMediaType.TRICKLE_ICE)
          .header('allow', WHIP_SESSION_METHODS.join(', '))
          .status(204)
          .send();
      const session = sessions.get(kind, request.params.id);
      if (!session)
        throw new WhipError(WhipErrorCode.SESSION_NOT_FOUND, 'no such session (ended, or never made)');
      const presented = bearer(request.headers.authorization);
      if (session.token !== undefined && (presented === undefined || !sameSecret(presented, session.token)))
        throw new WhipError(WhipErrorCode.TOKEN_BOUND, 'the session is bound to the token that made it');
      if (request.method === 'DELETE') {
        session.close();
        return reply.status(200).send();
      }
      if (mediaTypeOf(request.headers['content-type']) !== WhipMediaType.TRICKLE_ICE)
        throw new WhipError(
          WhipErrorCode.UNSUPPORTED_MEDIA_TYPE,
          `a PATCH must be ${WhipMediaType.TRICKLE_ICE}`,
        );
      const fragment = parseSdpFragment(String(request.body));
      const precondition = ifMatch(request.headers['if-match'], session.etag);
      if (precondition === 'stale')
        throw new WhipError(
          WhipErrorCode.PRECONDITION_FAILED,
          'If-Match names an entity tag the session no longer has',
        );
      if (!isIceRestart(fragment, session.remoteIce)) return reply.status(204).send(); // ICE-lite: no use for them
      if (precondition === 'missing')
        throw new WhipError(WhipErrorCode.PRECONDITION_REQUIRED, 'an ICE restart needs If-Match');
      const ours = await session.restartIce({ ufrag: fragment.ufrag!, pwd: fragment.pwd! }, fragment.mid);
      return reply
        .status(200)
        .type(WhipMediaType.TRICKLE_ICE)
        .header('etag', session.etag)
        .send(formatSdpFragment(ours));
    },
  });

  for (const [path, kind] of [
    [WhipPath.WHIP, 'whip'],
    [WhipPath.WCS_PUBLISH, 'whip'],
    [WhipPath.WHEP, 'whep'],
  ] as const)
    app.route({ method: [...WHIP_ENDPOINT_METHODS], url: path, ...endpoint(kind) });
  for (const [path, kind] of [
    [WhipPath.WHIP_SESSION, 'whip'],
    [WhipPath.WHEP_SESSION, 'whep'],
  ] as const)
    app.route({ method: [...WHIP_SESSION_METHODS], url: path, ...sessionRoute(kind) });
}

function stringBody(
  _request: FastifyRequest,
  body: string | Buffer,
  done: (e: Error | null, b?: unknown) => void,
): void {
  done(null, String(body));
}

/**
 * The offer, checked for what a WHIP/WHEP endpoint can serve: parseable with ICE credentials and a
 * fingerprint (400), at most one audio and one video section, each sending (WHIP) or receiving (WHEP) (422).
 */
function readOffer(kind: WhipKind, sdp: unknown): ParsedOffer & { ice: { ufrag: string; pwd: string } } {
  let offer: ParsedOffer;
  try {
    offer = parseOffer(sdp);
  } catch (error) {
    if (error instanceof SdpError) throw new WhipError(WhipErrorCode.BAD_SDP, error.message);
    throw error;
  }
  const { ice } = offer;
  if (!ice) throw new WhipError(WhipErrorCode.BAD_SDP, 'the offer has no ICE credentials');
  const media = offer.sections.filter((s) => s.kind !== undefined);
  for (const kind_ of ['audio', 'video'] as const)
    if (media.filter((s) => s.kind === kind_).length > 1)
      throw new WhipError(WhipErrorCode.UNPROCESSABLE_OFFER, `more than one ${kind_} track`);
  const wanted = kind === 'whip' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
  if (media.length === 0 || !media.some((s) => wanted.includes(s.direction)))
    throw new WhipError(
      WhipErrorCode.UNPROCESSABLE_OFFER,
      kind === 'whip' ? 'the offer sends no audio or video' : 'the offer receives no audio or video',
    );
  return { ...offer, ice };
}
