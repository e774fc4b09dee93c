/**
 * Where an RTP packet's payload lies (RFC 3550 §5.1): after the fixed header, the CSRCs and the header
 * extension, before the padding. Undefined for what is not a whole RTP version 2 packet.
 */
export function rtpPayloadBounds(packet: Buffer): { start: number; end: number } | undefined {
  const b0 = packet[0] ?? 0;
  if (packet.length < 12 || b0 >> 6 !== 2) return undefined;
  let start = 12 + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    if (packet.length < start + 4) return undefined;
    start += 4 + 4 * packet.readUInt16BE(start + 2);
  }
  const end = b0 & 0x20 ? packet.length - (packet[packet.length - 1] ?? 0) : packet.length;
  return end < start ? undefined : { start, end };
}

/** An RTP packet's payload (a view, not a copy), or undefined (see rtpPayloadBounds). */
export function rtpPayload(packet: Buffer): Buffer | undefined {
  const bounds = rtpPayloadBounds(packet);
  return bounds && packet.subarray(bounds.start, bounds.end);
}
