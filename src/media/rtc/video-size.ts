/** A video frame size read from the bitstream. */
export interface FrameSize {
  width: number;
  height: number;
}

/**
 * The frame size carried by one RTP payload, when it has one: a VP8 key frame's header (RFC 6386 §9.1,
 * behind the RFC 7741 payload descriptor), or an H264 sequence parameter set (ITU-T H.264 §7.3.2.1.1),
 * alone or in a STAP-A (RFC 6184). Anything else (delta frames, fragments, other codecs) gives undefined.
 */
export function frameSizeOf(mimeType: string, payload: Buffer): FrameSize | undefined {
  switch (mimeType.toLowerCase()) {
    case 'video/vp8':
      return vp8KeyFrameSize(payload);
    case 'video/h264':
      return h264Size(payload);
    default:
      return undefined;
  }
}

function vp8KeyFrameSize(p: Buffer): FrameSize | undefined {
  if (p.length < 1) return undefined;
  const b0 = p[0]!;
  // only the first packet of partition 0 starts a frame
  if ((b0 & 0x10) === 0 || (b0 & 0x07) !== 0) return undefined;
  let offset = 1;
  if (b0 & 0x80) {
    const x = p[offset++] ?? 0;
    if (x & 0x80) offset += (p[offset] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (x & 0x40) offset += 1; // TL0PICIDX
    if (x & 0x30) offset += 1; // TID/KEYIDX
  }
  const f = p.subarray(offset);
  if (f.length < 10 || (f[0]! & 0x01) !== 0) return undefined; // P bit set: not a key frame
  if (f[3] !== 0x9d || f[4] !== 0x01 || f[5] !== 0x2a) return undefined;
  const width = f.readUInt16LE(6) & 0x3fff;
  const height = f.readUInt16LE(8) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

function h264Size(p: Buffer): FrameSize | undefined {
  if (p.length < 1) return undefined;
  const type = p[0]! & 0x1f;
  if (type === 7) return spsSize(p.subarray(1));
  if (type !== 24) return undefined;
  // STAP-A: 16-bit size, then the NAL unit, repeated
  for (let offset = 1; offset + 2 < p.length;) {
    const size = p.readUInt16BE(offset);
    const nal = p.subarray(offset + 2, offset + 2 + size);
    if (nal.length > 0 && (nal[0]! & 0x1f) === 7) return spsSize(nal.subarray(1));
    offset += 2 + size;
  }
  return undefined;
}

/** Exp-Golomb reader over an RBSP (emulation prevention bytes removed). */
class Bits {
  private bit = 0;
  constructor(private readonly data: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.bit >> 3];
      if (byte === undefined) throw new RangeError('SPS ends early');
      v = (v << 1) | ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v >>> 0;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return (2 ** zeros - 1 + this.u(zeros)) >>> 0;
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

function rbsp(nal: Buffer): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function spsSize(nal: Buffer): FrameSize | undefined {
  try {
    const b = new Bits(rbsp(nal));
    const profile = b.u(8);
    b.u(16); // constraint flags, level
    b.ue(); // seq_parameter_set_id
    let chroma = 1;
    if (HIGH_PROFILES.has(profile)) {
      chroma = b.ue();
      if (chroma === 3) b.u(1);
      b.ue(); // bit depth luma
      b.ue(); // bit depth chroma
      b.u(1);
      if (b.u(1)) {
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
          if (!b.u(1)) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
            next = (last + b.se() + 256) % 256;
            if (next !== 0) last = next;
          }
        }
      }
    }
    b.ue(); // log2_max_frame_num_minus4
    const pocType = b.ue();
    if (pocType === 0) b.ue();
    else if (pocType === 1) {
      b.u(1);
      b.se();
      b.se();
      const cycle = b.ue();
      for (let i = 0; i < cycle; i++) b.se();
    }
    b.ue(); // max_num_ref_frames
    b.u(1);
    const widthMbs = b.ue() + 1;
    const heightMapUnits = b.ue() + 1;
    const frameMbsOnly = b.u(1);
    if (!frameMbsOnly) b.u(1);
    b.u(1);
    let [left, right, top, bottom] = [0, 0, 0, 0];
    if (b.u(1)) [left, right, top, bottom] = [b.ue(), b.ue(), b.ue(), b.ue()];
    const subWidth = chroma === 1 || chroma === 2 ? 2 : 1;
    const subHeight = chroma === 1 ? 2 : 1;
    const cropX = chroma === 0 ? 1 : subWidth;
    const cropY = (chroma === 0 ? 1 : subHeight) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - (left + right) * cropX;
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - (top + bottom) * cropY;
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
