"""An OpenTelemetry logs receiver (OTLP/HTTP, JSON) for the audit export
tests: each request body is parsed with the OTLP protobuf definitions
(opentelemetry-proto), so anything that is not valid OTLP JSON is refused
with 400. Prints `READY <port>`, then one JSON line per log record
received; answers 503 to the first `--fail-first N` requests.
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

parser = argparse.ArgumentParser()
parser.add_argument("--fail-first", type=int, default=0)
args = parser.parse_args()
state = {"refused": 0}


def attributes(pairs):
    out = {}
    for pair in pairs:
        value = pair.value
        out[pair.key] = value.int_value if value.HasField("int_value") else value.string_value
    return out


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/logs" or self.headers.get("content-type") != "application/json":
            return self.answer(404, {})
        if state["refused"] < args.fail_first:
            state["refused"] += 1
            return self.answer(503, {})
        request = ExportLogsServiceRequest()
        try:
            json_format.Parse(body, request)
        except json_format.ParseError as error:
            print(json.dumps({"invalid": str(error)}), flush=True)
            return self.answer(400, {})
        for resource_logs in request.resource_logs:
            resource = attributes(resource_logs.resource.attributes)
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    line = {
                        "resource": resource,
                        "scope": scope_logs.scope.name,
                        "time_unix_nano": record.time_unix_nano,
                        "event_name": record.event_name,
                        "severity": record.severity_number,
                        "attributes": attributes(record.attributes),
                        "body": record.body.string_value,
                        "collector_key": self.headers.get("x-collector-key"),
                    }
                    print(json.dumps(line), flush=True)
        self.answer(200, {})

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"READY {server.server_address[1]}", flush=True)
server.serve_forever()
