#!/usr/bin/python3
"""A WHIP publisher or WHEP player made of GStreamer's webrtcbin, for streamfed's partner tests.

    gst_whip.py publish <WHIP endpoint URL> [bearer token]
    gst_whip.py play <WHEP endpoint URL> [bearer token]

publish: videotestsrc ! vp8enc ! rtpvp8pay and audiotestsrc ! opusenc ! rtpopuspay into webrtcbin. play: a
recvonly VP8-or-H264 + Opus webrtcbin whose streams are decoded (decodebin) and counted. We ask webrtcbin for the
offer ourselves (its on-negotiation-needed fires before a handler connected after parse_launch), POST it, and
apply the answer. The server is ICE-lite: our candidates are not needed, its own are in the answer.

Talks JSON lines (the same as aiortc_whip.py): prints {"event": "answered", "status", "location", "etag"} or
{"event": "refused", "status", "body"}, then {"event": "frames", "video", "audio"} every half second (decoded
frames/buffers received for play; for publish, RTP buffers sent); reads "stop" on stdin: DELETEs the session,
prints {"event": "deleted", "status"} and exits.
"""
import sys
import urllib.parse

from whip_partner import http, say

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

Gst.init(None)

PUBLISH = (
    "webrtcbin name=wb bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! videoconvert "
    "! vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 "
    "! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! identity name=vcount ! wb. "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 "
    "! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2 ! identity name=acount ! wb."
)
PLAY = "webrtcbin name=wb bundle-policy=max-bundle"


class Partner:
    def __init__(self, mode, endpoint, token):
        self.mode = mode
        self.endpoint = endpoint
        self.token = token
        self.session = None
        self.counts = {"video": 0, "audio": 0}
        self.loop = GLib.MainLoop()
        launched = Gst.parse_launch(PUBLISH if mode == "publish" else PLAY)
        if not isinstance(launched, Gst.Pipeline):  # one element alone comes back bare
            self.pipeline = Gst.Pipeline.new(None)
            self.pipeline.add(launched)
        else:
            self.pipeline = launched
        self.webrtc = self.pipeline.get_by_name("wb")
        # libnice leaves loopback out of its host candidates; our servers listen on 127.0.0.1 only
        address = Nice.Address.new()
        address.set_from_string("127.0.0.1")
        # (kept referenced: PyGObject drops a ref it does not own when these wrappers go away)
        self.ice = self.webrtc.get_property("ice-agent")
        self.nice = self.ice.get_property("agent")
        self.nice.add_local_address(address)
        if mode == "publish":
            for kind, name in (("video", "vcount"), ("audio", "acount")):
                self.pipeline.get_by_name(name).get_static_pad("src").add_probe(
                    Gst.PadProbeType.BUFFER, self.counter(kind)
                )
        else:
            for caps in (
                # VP8 or H264: the server answers with the codec of the stream it plays
                "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000;"
                "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
                "packetization-mode=(string)1,profile-level-id=(string)42e01f",
                "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2",
            ):
                self.webrtc.emit(
                    "add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, Gst.Caps.from_string(caps)
                )
            self.webrtc.connect("pad-added", self.on_pad)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def counter(self, kind):
        def probe(_pad, _info):
            self.counts[kind] += 1
            return Gst.PadProbeReturn.OK

        return probe

    def on_error(self, _bus, message):
        error, debug = message.parse_error()
        say(event="error", message=f"{error.message} {debug}")

    def on_pad(self, _webrtc, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", self.on_decoded)
        self.pipeline.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def on_decoded(self, _decode, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        kind = "video" if caps.to_string().startswith("video") else "audio"
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        pad.add_probe(Gst.PadProbeType.BUFFER, self.counter(kind))

    def start(self):
        self.pipeline.set_state(Gst.State.PLAYING)
        # the offer once the pipeline runs (asked earlier, webrtcbin may answer with no offer at all)
        GLib.timeout_add(300, self.ask_offer)
        GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, self.on_stdin)
        GLib.timeout_add(500, self.report)
        self.loop.run()

    def ask_offer(self):
        self.webrtc.emit("create-offer", None, Gst.Promise.new_with_change_func(self.on_offer, None))
        return False

    def on_offer(self, promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply.has_field("offer") else None
        if offer is None:
            say(event="error", message=f"no offer from webrtcbin: {reply.to_string()}")
            GLib.idle_add(self.quit)
            return
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())
        status, headers, body = http("POST", self.endpoint, offer.sdp.as_text(), "application/sdp", self.token)
        if status != 201:
            say(event="refused", status=status, body=body)
            GLib.idle_add(self.quit)
            return
        self.session = urllib.parse.urljoin(self.endpoint, headers.get("location", ""))
        _, sdp = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())
        say(event="answered", status=status, location=headers.get("location"), etag=headers.get("etag"))

    def report(self):
        say(event="frames", **self.counts)
        return True

    def on_stdin(self, source, condition):
        line = source.readline()
        if condition & GLib.IO_HUP or line == "" or line.strip() == "stop":
            status = http("DELETE", self.session, token=self.token)[0] if self.session else 0
            say(event="deleted", status=status)
            self.quit()
            return False
        return True

    def quit(self):
        self.pipeline.set_state(Gst.State.NULL)
        self.loop.quit()


if __name__ == "__main__":
    mode, endpoint = sys.argv[1], sys.argv[2]
    Partner(mode, endpoint, sys.argv[3] if len(sys.argv) > 3 else None).start()
