"""Records what a real `docktray serve` answers to the Settings view's routes, for ui/tests/http-settings.test.ts.
Run against a server on the test engine with [api] allow_actions = true, one [[webdock]] account named "w" (no
token stored) and no [caddy] or channels configured:

  python3 ui/tests/recorded/record_settings.py URL TOKEN > ui/tests/recorded/settings.json

It saves the settings once (logs.ring_lines + 1) and pauses notifications for an hour on that server.
"""

import copy
import json
import sys
import urllib.error
import urllib.request

url, token = sys.argv[1].rstrip("/"), sys.argv[2]


def call(method, path, body=None):
    headers = {"authorization": "Bearer " + token}
    data = None
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(url + path, method=method, headers=headers, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return {"status": answer.status, "body": json.loads(answer.read() or b"null")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read())}


settings = call("GET", "/api/v1/settings")
config = settings["body"]["config"]
bad = copy.deepcopy(config)
bad["logs"]["ring_lines"] = 0
changed = copy.deepcopy(config)
changed["logs"]["ring_lines"] = config["logs"]["ring_lines"] + 1
record = {
    "made_by": "ui/tests/recorded/record_settings.py against docktray serve on the test engine",
    "settings": settings,
    "validate_ok": call("POST", "/api/v1/settings/validate", {"config": changed}),
    "validate_bad": call("POST", "/api/v1/settings/validate", {"config": bad}),
    "save_bad": call("PUT", "/api/v1/settings", {"config": bad}),
    "save": call("PUT", "/api/v1/settings", {"config": changed}),
    "pause": call("POST", "/api/v1/notifications/pause", {"paused": True, "minutes": 60}),
    "token_status": call("GET", "/api/v1/webdock/accounts/w/token"),
    "discover": call("GET", "/api/v1/ssh-hosts/discover"),
    "caddy_off": call("POST", "/api/v1/caddy/retry"),
    "channel_unknown": call("POST", "/api/v1/channels/ntfy/test"),
    "remove_host_missing": call("DELETE", "/api/v1/ssh-hosts/nowhere"),
}
json.dump(record, sys.stdout, indent=1)
