"""Loopback npm registry for `npm audit`: GETs are forwarded to registry.npmjs.org; the bulk
advisory endpoint (which the reachable registry refuses: 405) answers with advisories copied by
hand from the GitHub Advisory Database."""

import gzip
import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADVISORIES = {
    "lodash": [
        {
            "id": 1106913,
            "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm",
            "title": "Command Injection in lodash",
            "severity": "high",
            "vulnerable_versions": "<4.17.21",
            "cwe": ["CWE-77", "CWE-94"],
            "cvss": {"score": 7.2, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"},
        },
        {
            "id": 1106914,
            "url": "https://github.com/advisories/GHSA-29mw-wpgm-hmr9",
            "title": "Regular Expression Denial of Service (ReDoS) in lodash",
            "severity": "moderate",
            "vulnerable_versions": "<4.17.21",
            "cwe": ["CWE-400", "CWE-1333"],
            "cvss": {"score": 5.3, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"},
        },
        {
            "id": 1096305,
            "url": "https://github.com/advisories/GHSA-p6mc-m468-83gw",
            "title": "Prototype Pollution in lodash",
            "severity": "high",
            "vulnerable_versions": ">=3.7.0 <4.17.19",
            "cwe": ["CWE-770", "CWE-1321"],
            "cvss": {"score": 7.4, "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"},
        },
    ],
    "minimist": [
        {
            "id": 1097678,
            "url": "https://github.com/advisories/GHSA-xvch-5gv4-984h",
            "title": "Prototype Pollution in minimist",
            "severity": "critical",
            "vulnerable_versions": "<0.2.4 || >=1.0.0 <1.2.6",
            "cwe": ["CWE-1321"],
            "cvss": {"score": 9.8, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        },
    ],
}


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        asked = json.loads(body)
        sys.stderr.write(f"bulk asked: {asked}\n")
        out = json.dumps({k: v for k, v in ADVISORIES.items() if k in asked}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        req = urllib.request.Request(
            "https://registry.npmjs.org" + self.path, headers={"accept": self.headers.get("accept", "application/json")}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            data = data.replace(b"https://registry.npmjs.org/", b"http://127.0.0.1:48733/")
            self.send_response(r.status)
            self.send_header("content-type", r.headers.get("content-type", "application/json"))
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


ThreadingHTTPServer(("127.0.0.1", 48733), H).serve_forever()
