import { describe, expect, it } from 'vitest';
import { StreamRequest, validator } from '../../src/contracts/wcs-protocol.js';
import { constrainedSize } from '../../src/media/signalling/messages.js';

const check = validator(StreamRequest);
const sdp = 'v=0\r\n';

describe('publishStream/playStream as the Web SDK and its demo pages send them', () => {
  it("accepts the SDK's own publishStream and playStream bodies (flashphoner-core.js)", () => {
    const publish = {
      mediaSessionId: 'a1',
      name: 'stream 1',
      published: true,
      hasVideo: true,
      hasAudio: true,
      status: 'PENDING',
      record: false,
      mediaProvider: 'WebRTC',
      sdp,
      custom: { token: 'x' },
      bitrate: 0,
      minBitrate: 0,
      maxBitrate: 0,
      rtmpUrl: 'rtmp://nowhere/live',
      constraints: { audio: true, video: { width: { ideal: 1280 }, height: 720, frameRate: 30 } },
      transport: 'UDP',
      cvoExtension: false,
    };
    expect(check(publish)).toEqual(publish);
    // the Player demo with ?resolution=640x480: playWidth/playHeight straight from the URL, as strings
    for (const [width, height] of [
      ['640', '480'],
      [640, 480],
      [0, 0],
      ['abc', null],
      [undefined, undefined],
    ]) {
      const play = { mediaSessionId: 'b1', name: 's', published: false, sdp, width, height, quality: 0 };
      expect(typeof check(play), JSON.stringify({ width, height })).toBe('object');
    }
  });

  it('reads the size a publisher asked for from its constraints', () => {
    expect(constrainedSize(undefined)).toEqual({ width: 0, height: 0 });
    expect(constrainedSize({ video: true })).toEqual({ width: 0, height: 0 });
    expect(constrainedSize({ video: { width: 640, height: 480 } })).toEqual({ width: 640, height: 480 });
    expect(constrainedSize({ video: { width: '1280', height: { exact: 720 } } })).toEqual({
      width: 1280,
      height: 720,
    });
    expect(constrainedSize({ video: { width: { ideal: 320 }, height: { min: 180, max: 240 } } })).toEqual({
      width: 320,
      height: 240,
    });
    expect(constrainedSize({ video: { width: -5, height: 'tall' } })).toEqual({ width: 0, height: 0 });
  });
});
