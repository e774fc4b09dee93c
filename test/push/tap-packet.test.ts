import { describe, expect, it } from 'vitest';
import { RtpPacket } from 'werift';
import { tapPacket } from '../../src/media/push/producer-tap.js';

// A video packet as mediasoup sends it on the tap: marker, PT 96, and its own one-byte header extensions
// (mid "0" padded, abs-send-time id 4, transport-wide-cc id 5 = 0), then a VP8 payload.
const header = Buffer.from('90e048d50004f8a8350dfd76', 'hex');
const extensions = Buffer.from('bede0004' + '1030000000000000' + '421bb852' + '51000000', 'hex');
const payload = Buffer.from('1000009d012a0102030405', 'hex');

describe('tapPacket', () => {
  it('reads the header as werift does and drops the header extensions', () => {
    const data = Buffer.concat([header, extensions, payload]);
    const packet = tapPacket(data)!;
    const werift = RtpPacket.deSerialize(data);
    expect(werift.header.extensions.map((e) => e.id)).toEqual([1, 4, 5]);
    for (const field of ['marker', 'payloadType', 'sequenceNumber', 'timestamp', 'ssrc'] as const)
      expect(packet.header[field]).toBe(werift.header[field]);
    expect(packet.header.extensions).toEqual([]);
    expect(packet.payload).toEqual(werift.payload);
    expect(packet.payload).toEqual(payload);
  });

  it('keeps CSRCs and strips padding', () => {
    const withCsrc = Buffer.from(header);
    withCsrc[0] = 0x80 | 0x20 | 2; // padding, two CSRCs, no extension
    const csrcs = Buffer.from('0000000100000002', 'hex');
    const padding = Buffer.from('000003', 'hex');
    const packet = tapPacket(Buffer.concat([withCsrc, csrcs, payload, padding]))!;
    expect(packet.header.csrc).toEqual([1, 2]);
    expect(packet.header.padding).toBe(false);
    expect(packet.payload).toEqual(payload);
  });

  it('rejects what is not RTP', () => {
    expect(tapPacket(Buffer.from('00e048d50004f8a8350dfd76', 'hex'))).toBeUndefined();
    expect(tapPacket(header.subarray(0, 11))).toBeUndefined();
    expect(tapPacket(Buffer.concat([header, extensions.subarray(0, 8)]))).toBeUndefined();
  });
});
