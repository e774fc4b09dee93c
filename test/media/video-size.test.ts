import { describe, expect, it } from 'vitest';
import { frameSizeOf } from '../../src/media/rtc/video-size.js';

/** Writes an H264 SPS RBSP bit by bit (u(n), ue(v)), with emulation prevention as an encoder does. */
class SpsWriter {
  private bits: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push((v >> i) & 1);
    return this;
  }
  ue(v: number): this {
    const code = v + 1;
    const len = Math.floor(Math.log2(code));
    return this.u(len, 0).u(len + 1, code);
  }
  nal(): Buffer {
    this.bits.push(1); // rbsp_stop_one_bit
    while (this.bits.length % 8) this.bits.push(0);
    const raw: number[] = [];
    for (let i = 0; i < this.bits.length; i += 8) raw.push(parseInt(this.bits.slice(i, i + 8).join(''), 2));
    const out: number[] = [0x67];
    for (const b of raw) {
      if (out.length >= 3 && out.at(-1) === 0 && out.at(-2) === 0 && b <= 3) out.push(3);
      out.push(b);
    }
    return Buffer.from(out);
  }
}

/** 640x360 as H264 codes it: 40x23 macroblocks, 8 rows cropped at the bottom (4:2:0 crop unit 2). */
function sps(profile: number): Buffer {
  const w = new SpsWriter().u(8, profile).u(8, 0).u(8, 0x1f).ue(0);
  if (profile === 100) w.ue(1).ue(0).ue(0).u(1, 0).u(1, 0); // 4:2:0, 8 bit, no scaling matrices
  return w
    .ue(0) // log2_max_frame_num_minus4
    .ue(0) // pic_order_cnt_type 0
    .ue(0)
    .ue(1) // max_num_ref_frames
    .u(1, 0)
    .ue(39) // 40 macroblocks wide
    .ue(22) // 23 high
    .u(1, 1) // frame_mbs_only
    .u(1, 1)
    .u(1, 1) // frame_cropping
    .ue(0)
    .ue(0)
    .ue(0)
    .ue(4)
    .u(1, 0) // no VUI
    .nal();
}

describe('frame sizes read from RTP payloads', () => {
  it('reads VP8 key frames behind every payload descriptor form, and nothing else', () => {
    const header = Buffer.from([0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]); // 640x360
    const cases: [number[], boolean][] = [
      [[0x10], true],
      [[0x90, 0x80, 0x81, 0x23], true], // X, I, 15-bit PictureID
      [[0x90, 0xe0, 0x12, 0x05, 0x40], true], // X, I (7-bit), L, T
      [[0x00], false], // not the start of a frame
      [[0x11], false], // partition 1
    ];
    for (const [descriptor, sized] of cases) {
      const size = frameSizeOf('video/VP8', Buffer.concat([Buffer.from(descriptor), header]));
      expect({ descriptor, size }).toEqual({
        descriptor,
        size: sized ? { width: 640, height: 360 } : undefined,
      });
    }
    const delta = Buffer.from(header);
    delta[0] = 0x01; // P bit: an inter frame
    expect(frameSizeOf('video/VP8', Buffer.concat([Buffer.from([0x10]), delta]))).toBeUndefined();
    expect(frameSizeOf('video/VP8', Buffer.from([0x10, 0x00]))).toBeUndefined();
  });

  it('reads H264 sequence parameter sets, alone or in a STAP-A, with cropping and high profile', () => {
    for (const profile of [66, 100]) {
      const nal = sps(profile);
      expect(frameSizeOf('video/H264', nal)).toEqual({ width: 640, height: 360 });
      const pps = Buffer.from([0x68, 0xce, 0x38, 0x80]);
      const stap = Buffer.concat([
        Buffer.from([0x78, 0, nal.length]),
        nal,
        Buffer.from([0, pps.length]),
        pps,
      ]);
      expect(frameSizeOf('video/H264', stap)).toEqual({ width: 640, height: 360 });
    }
    expect(frameSizeOf('video/H264', Buffer.from([0x65, 0x88, 0x84]))).toBeUndefined(); // IDR slice
    expect(frameSizeOf('video/H264', Buffer.from([0x67, 0x42]))).toBeUndefined(); // truncated SPS
    expect(frameSizeOf('audio/opus', sps(66))).toBeUndefined();
  });
});
