import type { PushDescription } from '../../src/contracts/pull-api.js';
import { rest } from './media-server.js';

/**
 * The pushes and pulls a media server lists (POST /rest-api/pull/find_all, with `headers`, e.g. its token):
 * its 404 means none; any other answer but a 2xx is an error, so a refused call (401, 403) never reads as
 * "no pushes".
 */
export async function listPushes(
  restUrl: string,
  headers: Record<string, string> = {},
): Promise<PushDescription[]> {
  const r = await rest(restUrl, '/rest-api/pull/find_all', undefined, headers);
  if (r.status === 404) return [];
  if (r.status < 200 || r.status > 299)
    throw new Error(`find_all on ${restUrl} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as PushDescription[];
}
