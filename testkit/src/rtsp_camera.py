#!/usr/bin/python3
"""A test RTSP camera: GStreamer's RTSP server (python3-gi, GstRtspServer) serving a solid
colour at /cam, H.264 or H.265, over TCP and UDP, optionally with digest authentication,
optionally going silent (without closing) some seconds after each client starts.

Usage: rtsp_camera.py PORT CODEC COLOUR [--user U --password P] [--fps N] [--silent-after S]
COLOUR is 0xRRGGBB. Prints "READY" once listening.
"""
import argparse
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("codec", choices=["h264", "h265"])
    ap.add_argument("colour")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--silent-after", type=float, default=0.0)
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--tone", type=float, default=0.0)
    a = ap.parse_args()
    Gst.init(None)
    rgb = int(a.colour, 16) & 0xFFFFFF
    argb = 0xFF000000 | rgb
    if a.codec == "h264":
        enc = (
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={k} bframes=0 "
            "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    else:
        enc = (
            "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={k} "
            "! rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    launch = (
        "( videotestsrc is-live=true pattern=solid-color foreground-color={c} "
        "! video/x-raw,width={w},height={h},framerate={f}/1 ! videoconvert ! " + enc + " )"
    ).format(c=argb, f=a.fps, k=a.fps, w=a.size.split("x")[0], h=a.size.split("x")[1])
    if a.tone > 0:
        # AAC (mpeg4-generic) next to the picture, inside the same bin.
        launch = launch[:-1] + (
            " audiotestsrc is-live=true wave=sine freq={t} volume=0.5 "
            "! audio/x-raw,rate=48000,channels=2 ! audioconvert ! avenc_aac "
            "! rtpmp4gpay name=pay1 pt=97 )"
        ).format(t=a.tone)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)
    factory.set_protocols(
        GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP
    )
    if a.silent_after > 0:

        def configure(_factory, media):
            pay = media.get_element().get_by_name("pay0")
            start = {"t": None}

            def probe(_pad, _info):
                now = time.monotonic()
                if start["t"] is None:
                    start["t"] = now
                if now - start["t"] > a.silent_after:
                    return Gst.PadProbeReturn.DROP
                return Gst.PadProbeReturn.OK

            pay.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)

        factory.connect("media-configure", configure)
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "camera-user")
        auth.add_digest(a.user, a.password or "", token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_role_from_structure(
            Gst.Structure.new_from_string(
                "camera-user, media.factory.access=(boolean)true, "
                "media.factory.construct=(boolean)true"
            )
        )
        factory.set_permissions(perms)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("cannot listen", file=sys.stderr)
        sys.exit(1)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
