"""Records what a real `docktray serve` answers, for the Vitest tests of the HTTP backend (ui/tests/http.test.ts):
the sign-in answers, a snapshot, and the first WebSocket messages of the snapshot and logs streams. Run against a
server on the test engine with one container logging (see the header of recorded.json for how it was made):

  python3 ui/tests/recorded/record.py URL TOKEN CONTAINER > ui/tests/recorded/recorded.json
"""

import json
import sys
import time
import urllib.error
import urllib.request

import websocket  # websocket-client (a selenium dependency in target/e2e-venv)

url, token, container = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]


def call(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return {"status": answer.status, "body": json.loads(answer.read() or b"null")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read())}


def messages(path, count, seconds):
    socket = websocket.create_connection(url.replace("http", "ws", 1) + path, timeout=seconds,
                                         subprotocols=["docktray", "bearer." + token])
    got, deadline = [], time.time() + seconds
    while len(got) < count and time.time() < deadline:
        got.append(json.loads(socket.recv()))
    socket.close()
    return got


signed_in = call("POST", "/api/v1/session", {"token": token})
signed_in["body"]["csrf"] = "recorded-csrf"
record = {
    "made_by": "ui/tests/recorded/record.py against docktray serve on the test engine",
    "session_wrong_token": call("POST", "/api/v1/session", {"token": "wrong"}),
    "session": signed_in,
    "no_session": call("GET", "/api/v1/snapshot"),
    "snapshot": call("GET", "/api/v1/snapshot", headers={"authorization": "Bearer " + token}),
    "actions_refused": call("POST", f"/api/v1/containers/{container}/stop",
                            headers={"authorization": "Bearer " + token}),
    "ws_snapshot": messages("/api/v1/ws?streams=snapshot,alerts", 2, 10),
    "ws_logs": messages(f"/api/v1/ws?streams=logs&container={container}&tail=100", 2, 10),
}
json.dump(record, sys.stdout, indent=1)
