/** How the signalling side reads the SDK's messages beyond their schemas (those are in contracts/wcs-protocol.ts). */

/**
 * A size from the SDK: a positive whole number of pixels, from a number, a numeric string ("640"), or a
 * getUserMedia constraint (`640`, `{ideal: 640}`, `{exact: 640}`, `{min, max}`); 0 when none is given.
 */
function sizeOf(value: unknown): number {
  if (typeof value === 'string') return sizeOf(value.trim() === '' ? undefined : Number(value));
  if (typeof value === 'number')
    return Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), 65535) : 0;
  if (typeof value !== 'object' || value === null) return 0;
  const c = value as Record<string, unknown>;
  return sizeOf(c['exact']) || sizeOf(c['ideal']) || sizeOf(c['max']) || sizeOf(c['min']);
}

/** The video size a publisher's constraints ask for (`constraints.video.width/height`), 0 when none. */
export function constrainedSize(constraints: unknown): { width: number; height: number } {
  const video = (constraints as { video?: unknown } | null | undefined)?.video;
  if (typeof video !== 'object' || video === null) return { width: 0, height: 0 };
  const v = video as Record<string, unknown>;
  return { width: sizeOf(v['width']), height: sizeOf(v['height']) };
}
