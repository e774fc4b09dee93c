// Adapter: mediasoup's worker is written against versatica's libsrtp 3 (separate in/out buffers, size_t
// lengths, an MKI index, a few new error codes); Debian ships libsrtp2, whose calls work in place on int
// lengths. These overloads copy in -> out and call libsrtp2. mediasoup always passes mki_index 0.
#pragma once
#include <srtp2/srtp.h>
#include <cstddef>
#include <cstring>
#include <climits>

#define srtp_err_status_buffer_small static_cast<srtp_err_status_t>(28)
#define srtp_err_status_cryptex_err static_cast<srtp_err_status_t>(29)

namespace streamfed_srtp_adapter
{
  template<typename F>
  inline srtp_err_status_t Run(F fn, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t trailer)
  {
    if (inLen > INT_MAX || *outLen < inLen + trailer)
      return srtp_err_status_buffer_small;
    if (out != in)
      std::memmove(out, in, inLen);
    int len = static_cast<int>(inLen);
    const srtp_err_status_t err = fn(out, &len);
    if (err == srtp_err_status_ok)
      *outLen = static_cast<size_t>(len);
    return err;
  }
} // namespace streamfed_srtp_adapter

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t /*mkiIndex*/)
{
  return streamfed_srtp_adapter::Run(
    [ctx](uint8_t* p, int* l) { return srtp_protect(ctx, p, l); }, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
  return streamfed_srtp_adapter::Run(
    [ctx](uint8_t* p, int* l) { return srtp_unprotect(ctx, p, l); }, srtp, srtpLen, rtp, rtpLen, 0);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t /*mkiIndex*/)
{
  return streamfed_srtp_adapter::Run(
    [ctx](uint8_t* p, int* l) { return srtp_protect_rtcp(ctx, p, l); },
    rtcp,
    rtcpLen,
    srtcp,
    srtcpLen,
    SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
  return streamfed_srtp_adapter::Run(
    [ctx](uint8_t* p, int* l) { return srtp_unprotect_rtcp(ctx, p, l); }, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
  return srtp_remove_stream(session, ssrc);
}
