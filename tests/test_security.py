"""Security against a real server: optional bearer tokens, open probes, no secrets in answers or logs."""

from __future__ import annotations

import requests
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from conftest import image_bytes
from server import Server, free_port

API_TOKEN = "tok-abc-123456"
WEBHOOK_TOKEN = "hook-xyz-987654"
AWS_SECRET = "very-secret-value-5550123"
SECRETS = (API_TOKEN, WEBHOOK_TOKEN, AWS_SECRET)


def test_tokens_guard_ocr_and_webhook_and_nothing_leaks(tmp_path):
    env = {
        "OCRFN_API_TOKEN": API_TOKEN,
        "OCRFN_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "OCRFN_STORAGE": "cloud",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: storage is down
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    }
    srv = Server(tmp_path, env)
    answers: list[requests.Response] = []

    def call(method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, srv.url + path, timeout=60, **kwargs)
        answers.append(response)
        return response

    try:
        srv.wait_ready()
        png = {"data": image_bytes("line_en.png"), "headers": {"Content-Type": "image/png"}}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_TOKEN}):
            refused = call("POST", "/api/ocr", data=png["data"], headers={**png["headers"], **headers})
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            assert refused.json()["error"] == "unauthorized" and refused.json()["request_id"]
        ok = call(
            "POST",
            "/api/ocr",
            data=png["data"],
            headers={**png["headers"], "Authorization": f"Bearer {API_TOKEN}"},
        )
        assert ok.status_code == 200 and ok.json()["code"] == 0
        assert call("POST", "/", json={"image_base64": "aGk="}).status_code == 401  # the root path too
        for path in ("/health", "/ready", "/metrics", "/webui", "/openapi.json"):
            assert call("GET", path).status_code == 200, path
        webhook = {
            "EventName": "s3:ObjectCreated:Put",
            "Key": "b/k.png",
            "Records": [{"s3": {"bucket": {"name": "bucket"}, "object": {"key": "k.png", "eTag": "e"}}}],
        }
        assert call("POST", "/", json=webhook).status_code == 401
        assert (
            call("POST", "/", json=webhook, headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code
            == 401
        )
        down = call("POST", "/", json=webhook, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
        assert down.status_code == 503 and down.json()["error"] == "storage_unavailable"
        assert "127.0.0.1" not in down.text and "Error" not in down.json()["message"]  # no endpoint, no text
        assert "127.0.0.1" in srv.stdout()  # the store's own words are in the log, for the operator
        # The same notification wrapped in a CloudEvent (as KafkaSource delivers it), and ocrfn's own
        # request event: every event delivery needs the webhook token, in either mode, on every path.
        kafka = CloudEvent(
            {"type": "dev.knative.kafka.event", "source": "t", "datacontenttype": "application/json"}, webhook
        )
        request = CloudEvent(
            {"type": "dev.ocrfn.ocr.request", "source": "t", "datacontenttype": "application/json"},
            {"url": "s3://bucket/k.png"},
        )
        for wrapped in (kafka, request):
            for encode in (to_binary, to_structured):
                headers, body = encode(wrapped)
                for path in ("/", "/api/events", "/api/ocr"):
                    for auth in ({}, {"Authorization": f"Bearer {API_TOKEN}"}):
                        refused = call("POST", path, data=body, headers={**headers, **auth})
                        assert refused.status_code == 401, (path, encode.__name__, refused.text)
                accepted = call(
                    "POST", "/", data=body, headers={**headers, "Authorization": f"Bearer {WEBHOOK_TOKEN}"}
                )
                assert accepted.status_code == 503  # past the token: the (down) store is the answer
    finally:
        srv.stop()
    seen = srv.stdout() + srv.stderr()
    for answer in answers:
        seen += answer.text + " ".join(f"{k}: {v}" for k, v in answer.headers.items())
    for secret in SECRETS:
        assert secret not in seen
    assert "AKIDEXAMPLE" not in seen
