import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isIceRestart, parseSdpFragment } from '../../src/contracts/whip-http.js';
import { parseOffer } from '../../src/media/rtc/sdp-offer.js';

const obsOffer = readFileSync(path.join(import.meta.dirname, '../whip/fixtures/obs-30-offer.sdp'), 'utf8');

describe('offers as parsed for the stream service and the WHIP/WHEP sessions', () => {
  it('keeps all-digit ICE credentials as text: a trickle with the same ones is not an ICE restart', () => {
    // werift's ufrag is four hex digits, so one offer in several is all digits (sdp-transform reads those as numbers)
    const offer = obsOffer
      .replace('a=ice-ufrag:Qx7d', 'a=ice-ufrag:6283')
      .replace(/a=ice-pwd:\S+/, 'a=ice-pwd:4021');
    const ice = parseOffer(offer).ice;
    expect(ice).toEqual({ ufrag: '6283', pwd: '4021' });
    const trickle = parseSdpFragment(
      'a=ice-ufrag:6283\r\na=ice-pwd:4021\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n',
    );
    expect(isIceRestart(trickle, ice!)).toBe(false);
  });
});
