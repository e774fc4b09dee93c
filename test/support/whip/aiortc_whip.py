#!/usr/bin/python3
"""A WHIP publisher or WHEP player made with aiortc, for streamfed's partner tests.

    aiortc_whip.py publish <WHIP endpoint URL> [bearer token]
    aiortc_whip.py play <WHEP endpoint URL> [bearer token]

publish: aiortc's own test tracks (a green VP8 picture, silent Opus). play: recvonly audio and video, each
frame decoded by aiortc and counted. Same JSON-lines protocol as gst_whip.py: {"event": "answered" |
"refused" | "frames" | "deleted"}; "stop" on stdin DELETEs the session and exits.
"""
import asyncio
import sys
import urllib.parse

from whip_partner import http, say

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

# aioice leaves 127.0.0.1 out of its host candidates; our servers listen on it only
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class Counting(VideoStreamTrack):
    """aiortc's test picture, counting the frames handed to the encoder."""

    def __init__(self, counts, kind_name):
        super().__init__()
        self.counts = counts
        self.kind_name = kind_name

    async def recv(self):
        frame = await super().recv()
        self.counts[self.kind_name] += 1
        return frame


class CountingAudio(AudioStreamTrack):
    def __init__(self, counts):
        super().__init__()
        self.counts = counts

    async def recv(self):
        frame = await super().recv()
        self.counts["audio"] += 1
        return frame


async def consume(track, counts):
    try:
        while True:
            await track.recv()
            counts[track.kind] += 1
    except MediaStreamError:
        pass


async def main(mode, endpoint, token):
    loop = asyncio.get_running_loop()
    counts = {"video": 0, "audio": 0}
    pc = RTCPeerConnection()
    if mode == "publish":
        pc.addTransceiver(CountingAudio(counts), direction="sendonly")
        pc.addTransceiver(Counting(counts, "video"), direction="sendonly")
    else:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
        pc.on("track", lambda track: asyncio.ensure_future(consume(track, counts)))
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers before it returns: no trickle
    status, headers, body = await loop.run_in_executor(
        None, http, "POST", endpoint, pc.localDescription.sdp, "application/sdp", token
    )
    if status != 201:
        say(event="refused", status=status, body=body)
        await pc.close()
        return
    session = urllib.parse.urljoin(endpoint, headers.get("location", ""))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    say(event="answered", status=status, location=headers.get("location"), etag=headers.get("etag"))

    async def report():
        while True:
            say(event="frames", **counts)
            await asyncio.sleep(0.5)

    reporter = asyncio.ensure_future(report())
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line == "" or line.strip() == "stop":
            break
    reporter.cancel()
    status = (await loop.run_in_executor(None, lambda: http("DELETE", session, token=token)))[0]
    say(event="deleted", status=status)
    await pc.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
