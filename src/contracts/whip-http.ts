/**
 * WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) as both our ends speak them: the media server's endpoints
 * (src/media/whip/) and our client of WHIP/WHEP endpoints (push and pull out, src/media/push/) read and write
 * the HTTP details here and nowhere else: media types, paths, the statuses and stable codes of refusals, the
 * `Link: rel="ice-server"` headers, entity tags and `If-Match`, the trickle-ICE SDP fragments of PATCH, and
 * the resolution of a relative `Location`. What crosses the wire lives here; what is done with it does not.
 */

/** The body types of the protocol. */
export const WhipMediaType = {
  SDP: 'application/sdp',
  TRICKLE_ICE: 'application/trickle-ice-sdpfrag',
  PROBLEM: 'application/problem+json',
} as const;

/** Where our endpoints live (on the REST port). `:name` is a stream name, URL-encoded; `:id` a session id. */
export const WhipPath = {
  /** WHIP ingest: POST an offer to publish `name`. */
  WHIP: '/whip/:name',
  /** WCS's own WHIP path (build 5.2.1816 on): the same handler as WHIP. */
  WCS_PUBLISH: '/rest-api/stream/publish/:name',
  /** WHEP playback: POST a recvonly offer to play `name`. */
  WHEP: '/whep/:name',
  /** A WHIP session (the `Location` of a 201): DELETE ends it, PATCH trickles or restarts ICE. */
  WHIP_SESSION: '/whip/sessions/:id',
  /** A WHEP session. */
  WHEP_SESSION: '/whep/sessions/:id',
} as const;

export type WhipKind = 'whip' | 'whep';

/** The media type of a Content-Type header value, without parameters, lower-cased ('' when absent). */
export function mediaTypeOf(header: string | readonly string[] | undefined): string {
  const value = typeof header === 'string' ? header : (header?.[0] ?? '');
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/** The session URL path of a session id (what `Location` carries, relative to the server). */
export function sessionPath(kind: WhipKind, id: string): string {
  return `/${kind}/sessions/${encodeURIComponent(id)}`;
}

/** Headers a browser page on another origin must be allowed to read (CORS `Access-Control-Expose-Headers`). */
export const WHIP_EXPOSED_HEADERS = ['Location', 'ETag', 'Link', 'Accept-Patch', 'Accept-Post'] as const;
/** Headers a browser page may send (CORS `Access-Control-Allow-Headers`). */
export const WHIP_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'If-Match'] as const;
/** Methods on an endpoint (POST) and on a session (PATCH, DELETE), with OPTIONS for both. */
export const WHIP_ENDPOINT_METHODS = ['POST', 'OPTIONS'] as const;
export const WHIP_SESSION_METHODS = ['PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The protocol's own refusals, fastify-style: a stable code and its status side by side. Refusals that are
 * not about the protocol (a name already in use, a hook's no, an unknown stream) keep the codes they have
 * everywhere else (rest-error.ts, the stream service's errors) and their statuses.
 */
export const WhipErrorCode = {
  /** The body is not `application/sdp` (POST) or `application/trickle-ice-sdpfrag` (PATCH). */
  UNSUPPORTED_MEDIA_TYPE: 'WHIP_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** The offer or fragment cannot be parsed or used (no media, no ICE credentials, no fingerprint). */
  BAD_SDP: 'WHIP_ERR_BAD_SDP',
  /** More than one audio or one video track, or a direction the endpoint cannot serve. */
  UNPROCESSABLE_OFFER: 'WHIP_ERR_UNPROCESSABLE_OFFER',
  /** No such session (ended, or never made). */
  SESSION_NOT_FOUND: 'WHIP_ERR_SESSION_NOT_FOUND',
  /** An ICE restart without `If-Match`. */
  PRECONDITION_REQUIRED: 'WHIP_ERR_PRECONDITION_REQUIRED',
  /** `If-Match` names an entity tag the session no longer has. */
  PRECONDITION_FAILED: 'WHIP_ERR_PRECONDITION_FAILED',
  /** The stream name was bound to another token by an earlier publish (WCS's stream-bound tokens). */
  TOKEN_BOUND: 'WHIP_ERR_TOKEN_BOUND',
} as const;
export type WhipErrorCode = (typeof WhipErrorCode)[keyof typeof WhipErrorCode];

export const whipErrorStatus: Record<WhipErrorCode, number> = {
  WHIP_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  WHIP_ERR_BAD_SDP: 400,
  WHIP_ERR_UNPROCESSABLE_OFFER: 422,
  WHIP_ERR_SESSION_NOT_FOUND: 404,
  WHIP_ERR_PRECONDITION_REQUIRED: 428,
  WHIP_ERR_PRECONDITION_FAILED: 412,
  WHIP_ERR_TOKEN_BOUND: 409,
};

/**
 * A refusal as WHIP/WHEP endpoints answer it: RFC 9457 problem details (`application/problem+json`), with the
 * stable `code` as an extension member, so programs branch on `code` and people read `detail`.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

export function problem(status: number, title: string, code: string, detail: string): Problem {
  return { type: 'about:blank', title, status, detail, code };
}

/** The stable code of a problem body, if the body is one (a foreign endpoint may send text or nothing). */
export function problemCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const code = (body as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

// ---- ICE servers: Link headers ----------------------------------------------------------------------------

/** A STUN/TURN server as WebRTC's RTCIceServer names it (one URL). */
export interface IceServer {
  urls: string;
  username?: string | undefined;
  credential?: string | undefined;
}

const quoted = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** One `Link` header value per server: `<turn:host?transport=udp>; rel="ice-server"; username=...; credential=...`. */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  return servers.map((s) => {
    let link = `<${s.urls}>; rel="ice-server"`;
    if (s.username !== undefined) link += `; username=${quoted(s.username)}`;
    if (s.credential !== undefined)
      link += `; credential=${quoted(s.credential)}; credential-type="password"`;
    return link;
  });
}

/** The ICE servers a 201 (or OPTIONS) announces; other links and malformed values are skipped. */
export function parseIceServerLinks(header: string | readonly string[] | undefined | null): IceServer[] {
  if (!header) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: IceServer[] = [];
  for (const value of values) {
    for (const link of splitLinks(value)) {
      const match = /^\s*<([^>]*)>(.*)$/s.exec(link);
      if (!match) continue;
      const params = linkParams(match[2] ?? '');
      if (!(params.get('rel') ?? '').split(/\s+/).includes('ice-server')) continue;
      const server: IceServer = { urls: match[1] ?? '' };
      const username = params.get('username');
      const credential = params.get('credential');
      if (username !== undefined) server.username = username;
      if (credential !== undefined) server.credential = credential;
      out.push(server);
    }
  }
  return out;
}

/** Splits a Link header value at the commas between links (not those inside `<...>` or quotes). */
function splitLinks(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && inQuotes) i++;
    else if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && c === '<') depth++;
    else if (!inQuotes && c === '>') depth = Math.max(0, depth - 1);
    else if (!inQuotes && depth === 0 && c === ',') {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.filter((l) => l.trim() !== '');
}

function linkParams(rest: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([A-Za-z0-9!#$&+.^_`|~-]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*)))?/g;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    const key = (m[1] ?? '').toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

// ---- entity tags ----------------------------------------------------------------------------------------

/** A strong entity tag for an opaque value (the session's ICE generation). */
export function entityTag(value: string): string {
  return quoted(value);
}

/**
 * What an `If-Match` says of the current entity tag: absent (`missing`), `*` or a list naming it (`match`),
 * or naming only others (`stale`). Weak tags compare by their opaque part (RFC 9110's weak comparison is
 * what a client echoing our ETag needs).
 */
export function ifMatch(header: string | undefined, current: string): 'missing' | 'match' | 'stale' {
  if (header === undefined || header.trim() === '') return 'missing';
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(current.replace(/^W\//, '')) ? 'match' : 'stale';
}

// ---- trickle ICE fragments (RFC 8840) ---------------------------------------------------------------------

/** What a PATCH body carries: ICE credentials (new ones mean an ICE restart) and candidates, per m-line mid. */
export interface SdpFragment {
  ufrag?: string | undefined;
  pwd?: string | undefined;
  /** `candidate:` attribute values (without `a=`), in order. */
  candidates: string[];
  /** True when the fragment says the candidates are complete (`a=end-of-candidates`). */
  endOfCandidates: boolean;
  /** The mid of the first media section, if any. */
  mid?: string | undefined;
}

/** Reads an `application/trickle-ice-sdpfrag` body. Lines it does not know are ignored. */
export function parseSdpFragment(body: string): SdpFragment {
  const out: SdpFragment = { candidates: [], endOfCandidates: false };
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('a=ice-ufrag:')) out.ufrag ??= line.slice('a=ice-ufrag:'.length);
    else if (line.startsWith('a=ice-pwd:')) out.pwd ??= line.slice('a=ice-pwd:'.length);
    else if (line.startsWith('a=candidate:')) out.candidates.push(line.slice(2));
    else if (line === 'a=end-of-candidates') out.endOfCandidates = true;
    else if (line.startsWith('a=mid:')) out.mid ??= line.slice('a=mid:'.length);
  }
  return out;
}

/** Writes a fragment: session-level ICE credentials, then one media section with its candidates. */
export function formatSdpFragment(fragment: SdpFragment): string {
  const lines: string[] = [];
  if (fragment.ufrag !== undefined) lines.push(`a=ice-ufrag:${fragment.ufrag}`);
  if (fragment.pwd !== undefined) lines.push(`a=ice-pwd:${fragment.pwd}`);
  if (fragment.candidates.length > 0 || fragment.endOfCandidates || fragment.mid !== undefined) {
    lines.push('m=audio 9 RTP/AVP 0');
    if (fragment.mid !== undefined) lines.push(`a=mid:${fragment.mid}`);
    for (const c of fragment.candidates) lines.push(`a=${c}`);
    if (fragment.endOfCandidates) lines.push('a=end-of-candidates');
  }
  return lines.map((l) => `${l}\r\n`).join('');
}

/** A fragment is an ICE restart when it carries credentials other than the session's current ones. */
export function isIceRestart(fragment: SdpFragment, current: { ufrag: string; pwd: string }): boolean {
  return (
    fragment.ufrag !== undefined &&
    fragment.pwd !== undefined &&
    (fragment.ufrag !== current.ufrag || fragment.pwd !== current.pwd)
  );
}

// ---- client side ----------------------------------------------------------------------------------------

/** The session URL of a 201: its `Location`, resolved against the URL the offer was posted to. */
export function sessionUrl(endpoint: string | URL, location: string | undefined | null): URL | undefined {
  if (!location) return undefined;
  try {
    return new URL(location, endpoint);
  } catch {
    return undefined;
  }
}

/** True for a push/pull `uri` that names a WHIP/WHEP endpoint rather than a WCS WebSocket. */
export function isHttpTarget(uri: string): boolean {
  return /^https?:\/\//i.test(uri);
}

// ---- streamfed ⇄ streamfed: push chains over WHIP ------------------------------------------------------

/**
 * Between two streamfed servers a WHIP push keeps the push chain (wcs-protocol.ts `ChainHop`) as a WCS push
 * does: our client sends the chain its stream came by in this request header (base64url of the JSON array, so
 * any stream name fits a header), and our endpoints announce their fleet id in a response header on the 201
 * and on OPTIONS. A foreign endpoint ignores the one and never sends the other. A WHIP publish whose chain
 * already passed through the endpoint's fleet under the same name is refused 409 with code `PUSH_ERR_LOOP`.
 */
export const STREAMFED_CHAIN_HEADER = 'streamfed-chain';
export const STREAMFED_FLEET_HEADER = 'streamfed-fleet-id';

export function encodeChainHeader(chain: readonly { fleet: string; name: string }[]): string {
  return Buffer.from(JSON.stringify(chain), 'utf8').toString('base64url');
}

/** The chain a request carries, or undefined when the header is absent or not a chain (ignored, not refused). */
export function decodeChainHeader(value: string | undefined): { fleet: string; name: string }[] | undefined {
  if (!value || value.length > 64 * 1024) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length > 64) return undefined;
    const ok = parsed.every(
      (h: unknown) =>
        typeof h === 'object' &&
        h !== null &&
        typeof (h as { fleet?: unknown }).fleet === 'string' &&
        typeof (h as { name?: unknown }).name === 'string',
    );
    return ok ? (parsed as { fleet: string; name: string }[]) : undefined;
  } catch {
    return undefined;
  }
}
