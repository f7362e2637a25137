"""Run the real pip-audit CLI against a loopback OSV feed (api.osv.dev is not reachable here).
The OSV records are copied by hand from osv.dev (PYSEC-2018-28, PYSEC-2023-74, PYSEC-2019-132)."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packaging.version import Version  # run with the portal's venv python


def rec(id_, aliases, summary, pkg, introduced, fixed, published):
    return {
        "id": id_,
        "schema_version": "1.6.0",
        "aliases": aliases,
        "summary": summary,
        "details": summary,
        "published": published,
        "modified": published,
        "affected": [
            {
                "package": {"name": pkg, "ecosystem": "PyPI", "purl": f"pkg:pypi/{pkg}"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}],
            }
        ],
    }


FEED = {
    "requests": [
        rec(
            "PYSEC-2018-28",
            ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
            "The Requests package before 2.20.0 for Python sends an HTTP Authorization header to an http URI upon receiving a same-hostname https-to-http redirect, which makes it easier for remote attackers to discover credentials by sniffing the network.",
            "requests",
            "0",
            "2.20.0",
            "2018-10-09T17:29:00Z",
        ),
        rec(
            "PYSEC-2023-74",
            ["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"],
            "Requests is a HTTP library. Since Requests 2.3.0, Requests has been leaking Proxy-Authorization headers to destination servers when redirected to an HTTPS endpoint.",
            "requests",
            "2.3.0",
            "2.31.0",
            "2023-05-26T18:15:00Z",
        ),
    ],
    "urllib3": [
        rec(
            "PYSEC-2019-132",
            ["CVE-2019-11324", "GHSA-mh33-7rrq-662w"],
            "The urllib3 library before 1.24.2 for Python mishandles certain cases where the desired set of CA certificates is different from the OS store of CA certificates.",
            "urllib3",
            "0",
            "1.24.2",
            "2019-04-18T21:29:00Z",
        ),
    ],
}


def affects(record, v):
    events = record["affected"][0]["ranges"][0]["events"]
    return Version(events[0]["introduced"]) <= v < Version(events[1]["fixed"])


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        q = json.loads(self.rfile.read(int(self.headers["content-length"])))
        v = Version(q["version"])
        hits = [r for r in FEED.get(q["package"]["name"], []) if affects(r, v)]
        out = json.dumps({"vulns": hits} if hits else {}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()

url = f"http://127.0.0.1:{srv.server_port}/v1/query"
sys.exit(subprocess.call(["/work/main/.venv/bin/pip-audit", *sys.argv[1:], "--osv-url", url]))
