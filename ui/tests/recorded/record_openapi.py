"""Records the OpenAPI document a real `docktray serve` serves, for ui/tests/docs.test.ts (the /docs page renders
it). tests/api_document.rs fails when the served document and this recording differ; re-record then with a server
started from the current build (any engine will do, the document does not depend on it):

  python3 ui/tests/recorded/record_openapi.py URL TOKEN > ui/tests/recorded/openapi.json
"""

import sys
import urllib.request

url, token = sys.argv[1].rstrip("/"), sys.argv[2]
request = urllib.request.Request(url + "/api/v1/openapi.json", headers={"authorization": "Bearer " + token})
with urllib.request.urlopen(request, timeout=10) as answer:
    sys.stdout.write(answer.read().decode())
