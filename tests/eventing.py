"""Helpers for event tests: moto's S3 server in its own process, and events as sources send them."""

from __future__ import annotations

import subprocess
import sys
import time
from urllib.parse import quote_plus

import boto3
import requests
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http
from conftest import image_bytes
from server import Server, free_port

RECEIPT = "receipt.png"


class Moto:
    """moto's S3 server on a loopback port, in its own process (stop/start simulate an outage)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/moto-api/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.05)
        raise TimeoutError("moto server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


def s3_env(moto: Moto) -> dict[str, str]:
    return {
        "OCRFN_STORAGE": "cloud",
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


def s3_record(bucket: str, key: str, etag: str | None = None, **extra) -> dict:
    obj = {
        "key": quote_plus(key, safe="/"),
        "size": len(image_bytes(RECEIPT)),
        "sequencer": "0062E99A88DC407460",
    }
    if etag:
        obj["eTag"] = etag
    obj.update(extra)
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
    }


def etag_of(moto: Moto, bucket: str, key: str) -> str:
    return moto.client().head_object(Bucket=bucket, Key=key)["ETag"].strip('"')


def send(server: Server, event: CloudEvent, mode: str = "binary", reply: bool = True) -> requests.Response:
    headers, body = (to_binary if mode == "binary" else to_structured)(event)
    if reply:
        headers["Prefer"] = "reply"
    return requests.post(server.url + "/", data=body, headers=headers, timeout=120)


def event(kind: str, data, source: str = "test", subject: str | None = None) -> CloudEvent:
    attributes = {"type": kind, "source": source, "datacontenttype": "application/json"}
    if subject:
        attributes["subject"] = subject
    return CloudEvent(attributes, data)


def reply_event(response: requests.Response) -> CloudEvent:
    assert response.status_code == 200, response.text
    assert response.headers["ce-type"] == "dev.ocrfn.ocr.completed"
    assert response.headers["Content-Type"] == "application/json"
    return from_http(dict(response.headers), response.content)


def minio_body(bucket: str, key: str, etag: str, name: str = "s3:ObjectCreated:Put") -> dict:
    return {"EventName": name, "Key": f"{bucket}/{key}", "Records": [s3_record(bucket, key, etag)]}
