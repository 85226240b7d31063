"""A stand-in OpenTelemetry collector for the demos.

    python3 scripts/lib/otlp_receiver.py PORT_FILE FILE
        listens on a free loopback port, writes that port to PORT_FILE, accepts
        OTLP/HTTP JSON trace exports on POST /v1/traces and appends each body as
        one line to FILE;
    python3 scripts/lib/otlp_receiver.py --trace TRACE_ID FILE
        prints which services sent spans of that trace, and of which kinds
        (a client span with `db.system.name` is a database call, "db"):
        "shop-catalog: db+server shop-orders: client+db+server".
"""
import collections
import http.server
import json
import sys

KINDS = {1: "internal", 2: "server", 3: "client"}


def summary(path, trace_id):
    kinds = collections.defaultdict(set)
    for line in open(path, encoding="utf-8"):
        for resource in json.loads(line)["resourceSpans"]:
            attributes = {a["key"]: a["value"].get("stringValue") for a in resource["resource"]["attributes"]}
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    if span["traceId"] == trace_id:
                        database = any(a["key"] == "db.system.name" for a in span.get("attributes", []))
                        kind = "db" if database else KINDS.get(span["kind"], "other")
                        kinds[attributes.get("service.name")].add(kind)
    return " ".join(f"{service}: {'+'.join(sorted(k))}" for service, k in sorted(kinds.items()))


class Receiver(http.server.BaseHTTPRequestHandler):
    path_out = ""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ok = self.path == "/v1/traces"
        if ok:
            with open(self.path_out, "ab") as out:
                out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200 if ok else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    if sys.argv[1] == "--trace":
        print(summary(sys.argv[3], sys.argv[2]))
    else:
        Receiver.path_out = sys.argv[2]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        with open(sys.argv[1], "w", encoding="utf-8") as port_file:
            port_file.write(str(server.server_address[1]))
        server.serve_forever()
