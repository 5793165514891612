"""Records what a real `docktray serve` answers for the page's terminal, alert history and exports, for
ui/tests/http-terminal.test.ts: the messages of a terminal session over api/v1/containers/{ref}/exec (each step:
what the client sent, then what the server sent back until it went quiet), a terminal refused because its
container is not running, the alert list with and without history, and the timeline and a chart exported as
downloads. Run against a server on the test engine with [api] allow_actions = true, one running container and one
that exited with a non-zero status (so there is an alert and a die event):

  python3 ui/tests/recorded/record_terminal.py URL TOKEN RUNNING EXITED > ui/tests/recorded/terminal.json
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import websocket  # websocket-client (a selenium dependency in target/e2e-venv)

url, token, running, exited = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]
KEPT_HEADERS = ("content-type", "content-disposition", "x-docktray-rows")


def call(path, raw=False):
    request = urllib.request.Request(url + path, headers={"authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            body = answer.read()
            headers = {k.lower(): v for k, v in answer.headers.items() if k.lower() in KEPT_HEADERS}
            if raw:
                return {"status": answer.status, "headers": headers, "text": body.decode()}
            return {"status": answer.status, "body": json.loads(body or b"null")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read())}


def frames(socket, quiet):
    """What the server sends until it is quiet for `quiet` seconds, or the session ends."""
    got = []
    socket.settimeout(quiet)
    while True:
        try:
            opcode, data = socket.recv_data()
        except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException):
            return got
        if opcode == websocket.ABNF.OPCODE_BINARY:
            got.append({"binary": base64.b64encode(data).decode()})
        elif opcode == websocket.ABNF.OPCODE_TEXT:
            got.append({"text": data.decode()})
            if json.loads(data).get("type") in ("end", "error"):
                return got
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            return got


def session(container, inputs):
    socket = websocket.create_connection(
        url.replace("http", "ws", 1) + f"/api/v1/containers/{container}/exec?cols=80&rows=24",
        timeout=20, subprotocols=["docktray", "bearer." + token])
    steps = [{"sent": None, "received": frames(socket, 1.5)}]
    for sent in inputs:
        if sent.startswith("{"):
            socket.send(sent)
        else:
            socket.send_binary(sent.encode())
        steps.append({"sent": sent, "received": frames(socket, 1.5)})
    socket.close()
    return steps


until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
record = {
    "made_by": "ui/tests/recorded/record_terminal.py against docktray serve on the test engine",
    "running": running,
    "exited": exited,
    "session": session(running, [
        "echo $((6*7))\r",
        '{"type":"resize","cols":61,"rows":17}',
        "stty size; echo grüße-✓ | wc -c; echo grüße-✓\r",
        "exit 4\r",
    ]),
    "not_running": session(exited, []),
    "alerts_active": call("/api/v1/alerts?active_only=true"),
    "alerts_history": call("/api/v1/alerts?active_only=false"),
    "timeline_csv": call(f"/api/v1/timeline/export?format=csv&container={exited}", raw=True),
    "series_csv": call("/api/v1/history/export?" + urllib.parse.urlencode({
        "host": "local", "metrics": "cpu_percent", "since": "5m", "until": until, "format": "csv"}), raw=True),
    "series_refused": call("/api/v1/history/export?host=local&metrics=nonsense&since=5m&until=0"),
}
json.dump(record, sys.stdout, indent=1, ensure_ascii=False)
