"""Records what a real `docktray serve` answers to the routes of the window's detail, workbench and timeline
views, for ui/tests/http-workbench.test.ts. Run against a server on the test engine ([api] allow_actions off, so
changes are refused as a default server refuses them) with one container in a compose project:

  python3 ui/tests/recorded/record_workbench.py URL TOKEN CONTAINER PROJECT > ui/tests/recorded/workbench.json
"""

import json
import sys
import urllib.error
import urllib.request

url, token, container, project = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]


def call(method, path):
    request = urllib.request.Request(url + path, method=method, headers={"authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return {"status": answer.status, "body": json.loads(answer.read() or b"null")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read())}


record = {
    "made_by": "ui/tests/recorded/record_workbench.py against docktray serve on the test engine",
    "container": container,
    "project": project,
    "images": call("GET", "/api/v1/hosts/local/images"),
    "volumes": call("GET", "/api/v1/hosts/local/volumes"),
    "networks": call("GET", "/api/v1/hosts/local/networks"),
    "disk_usage": call("GET", "/api/v1/hosts/local/disk-usage?fresh=true"),
    "detail": call("GET", f"/api/v1/containers/{container}/detail"),
    "stack_plan": call("GET", f"/api/v1/hosts/local/stacks/{project}/plan?action=restart"),
    "timeline": call("GET", "/api/v1/timeline?since=1h&limit=20"),
    "unknown_host": call("GET", "/api/v1/hosts/nowhere/images"),
    "prune_refused": call("POST", "/api/v1/hosts/local/images/prune"),
    "acknowledge_refused": call("POST", "/api/v1/alerts/1/acknowledge"),
}
json.dump(record, sys.stdout, indent=1)
