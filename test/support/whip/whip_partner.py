"""What both partner scripts (gst_whip.py, aiortc_whip.py) share: their JSON-lines output and HTTP."""
import json
import urllib.error
import urllib.request


def say(**event):
    print(json.dumps(event), flush=True)


def http(method, url, body=None, content_type=None, token=None):
    """One request; returns (status, headers with lower-case names, body text), refusals included."""
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=body.encode() if body else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()
