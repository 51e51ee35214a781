"""A real HTTP server standing in for the SMS gateway.

Usage: /usr/bin/python3 sms_sink.py OUT_FILE [--delay-ms N]

Prints "READY <port>". Every POST to any path other than /_mode is appended to OUT_FILE as one
JSON line {path, idempotencyKey, auth, contentType, body, status}. The answer is chosen by a mode
set with POST /_mode {"mode": "ok"|"429"|"500"|"400"|"hang", "count": N, "retryAfter": S}:
the next N requests get that answer, then "ok" again (count absent = until changed).
"ok" answers 200 {"id": "sms-<n>"}; "400" quotes the refused number in its message; "hang" holds
the request for 30 s without answering.
"""
import json, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import parse_qs

out_path = sys.argv[1]
delay = 0.0
if "--delay-ms" in sys.argv:
    delay = int(sys.argv[sys.argv.index("--delay-ms") + 1]) / 1000.0
lock = threading.Lock()
out = open(out_path, "a", encoding="utf-8")
state = {"mode": "ok", "count": None, "retryAfter": 1, "n": 0}


def recipient(body):
    """The number a request is for: "to" of a JSON body, "To" of a form."""
    try:
        return json.loads(body).get("to", "")
    except ValueError:
        return parse_qs(body.decode("utf-8", "replace")).get("To", [""])[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/_mode":
            cfg = json.loads(body or b"{}")
            with lock:
                state["mode"] = cfg.get("mode", "ok")
                state["count"] = cfg.get("count")
                state["retryAfter"] = cfg.get("retryAfter", 1)
            return self._answer(200, {"ok": True})
        with lock:
            mode = state["mode"]
            if state["count"] is not None:
                state["count"] -= 1
                if state["count"] <= 0:
                    state["mode"], state["count"] = "ok", None
            state["n"] += 1
            n = state["n"]
            retry_after = state["retryAfter"]
        if delay:
            time.sleep(delay)
        status = {"ok": 200, "429": 429, "500": 500, "400": 400, "hang": 0}.get(mode, 200)
        record = {
            "path": self.path,
            "idempotencyKey": self.headers.get("Idempotency-Key"),
            "auth": self.headers.get("Authorization"),
            "contentType": self.headers.get("Content-Type"),
            "body": body.decode("utf-8", "replace"),
            "status": status,
        }
        with lock:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        if mode == "hang":
            time.sleep(30)
            return
        if status == 200:
            return self._answer(200, {"id": "sms-%d" % n, "status": "queued"})
        if status == 429:
            return self._answer(429, {"error": "slow down"}, [("Retry-After", str(retry_after))])
        if status == 500:
            return self._answer(500, {"error": "gateway trouble"})
        # As real gateways do, the refusal quotes the number it refused.
        return self._answer(400, {"error": "invalid number",
                                  "message": "The 'To' number %s is not a valid phone number." % recipient(body)})


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print("READY %d" % server.server_address[1], flush=True)
server.serve_forever()
