"""The local run's stand-in for an SMS gateway: accepts every POST on 127.0.0.1:2580 and writes
one JSON line per message to .logs/sms.log, so `make run` shows what customers would receive.
Usage: /usr/bin/python3 compose/local/sms_sink.py PORT LOG_FILE [HOST]
HOST defaults to 127.0.0.1; the containers' sms-sink listens on 0.0.0.0 and logs to /dev/stdout."""
import json, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

port, log_path = int(sys.argv[1]), sys.argv[2]
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
lock, counter = threading.Lock(), [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8", "replace")
        with lock:
            counter[0] += 1
            n = counter[0]
            with open(log_path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"path": self.path, "idempotencyKey": self.headers.get("Idempotency-Key"), "body": body}, ensure_ascii=False) + "\n")
        answer = json.dumps({"id": f"local-sms-{n}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


Server((host, port), Handler).serve_forever()
