#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets from real OneStop messages.

Each target's first input byte chooses where its reads are cut; every message is written once
per cut size, so the seeds already cover each message split at every offset. Run from
Tests/Fuzz: `python3 seed-corpus.py` (the corpus is checked in; libFuzzer adds what it finds
in a scratch directory, not here).
"""
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

registration = {
    "channel": "counter", "serviceType": "residence_permit", "applicantType": "individual",
    "applicant": {"name": "张三", "idType": "resident_id", "idNumber": "11010519491231002X"},
    "contact": {"phone": "13812345678", "email": "zhang.san@example.com", "locale": "zh-CN"},
    "description": "申请办理本市居住证，已在本区居住满半年。",
    "materials": [{"code": "id_card", "copies": 1, "original": True}, {"code": "photo", "copies": 2, "original": True}],
    "priority": "regular", "declaredAmount": 1200.5,
}
lines = [
    {"jsonrpc": "2.0", "id": 1, "method": "sys.hello", "params": {"service": "gateway", "credential": "secret"}},
    {"jsonrpc": "2.0", "id": "a-7", "method": "intake.registerCase",
     "params": dict(registration, _meta={"actor": {"id": "officer-li", "roles": ["intake_officer"]}, "deadline": 1900000000000})},
    {"jsonrpc": "2.0", "method": "notification.send", "params": {"key": "intake/c1/accepted", "_meta": {"messageId": "m-1"}}},
    [{"jsonrpc": "2.0", "id": 1, "method": "sys.health"}, {"jsonrpc": "2.0", "method": "x"}, 5],
    [],
    {"jsonrpc": "2.0", "id": None, "method": "routing.dispatch", "params": [1, 2]},
]
line_stream = b"".join(json.dumps(l, ensure_ascii=False).encode() + b"\n" for l in lines)
line_extras = [
    line_stream,
    b'{"jsonrpc":"2.0","id":2,"method":"sys.health"}\r\n\n\n',
    b'{"jsonrpc":"2.0","id":3,"method":"a","params":{"s":"\xff\xfe"}}\n',
    b'x' * 80 + b'\n{"jsonrpc":"2.0","id":4,"method":"sys.health"}\n',
    b'[' * 300 + b'\n',
]
http_requests = [
    b"POST /v1/public/cases HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\nAccept-Language: zh-CN\r\n"
    + b"Content-Length: %d\r\n\r\n" % len(json.dumps(registration, ensure_ascii=False).encode())
    + json.dumps(registration, ensure_ascii=False).encode(),
    b"GET /v1/cases/20261124-000001-7?x=1 HTTP/1.1\r\nHost: hall\r\nCookie: onestop_session=abc\r\n\r\n",
    b"POST /v1/public/track HTTP/1.1\r\nHost: hall\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    b"1a\r\n{\"trackingNumber\": \"SH1\", \r\n12\r\n\"accessCode\": \"x\"}\r\n0\r\n\r\n",
    b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: hall\r\nContent-Length: 5\r\n\r\n{\"a\":",
]


def write(target, payloads, cuts):
    folder = os.path.join(HERE, "Corpus", target)
    os.makedirs(folder, exist_ok=True)
    for payload in payloads:
        for cut in range(cuts):
            data = bytes([cut]) + payload
            name = hashlib.sha1(data).hexdigest()[:16]
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


write("line-protocol", line_extras + [json.dumps(l, ensure_ascii=False).encode() + b"\n" for l in lines], 17)
write("http-request", http_requests, 31)
json_folder = os.path.join(HERE, "Corpus", "json")
os.makedirs(json_folder, exist_ok=True)
for index, value in enumerate([registration, lines[1], [1, -2.5e-3, True, None, "\\u00e9\u4e2d"], {"": {"": []}}]):
    with open(os.path.join(json_folder, "seed-%d.json" % index), "wb") as f:
        f.write(json.dumps(value, ensure_ascii=False).encode())
