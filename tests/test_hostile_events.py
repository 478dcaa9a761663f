"""Hostile storage events against real servers: local buckets, and moto's S3 server over HTTP.

Names no store can take, links out of the local root, odd content where a result should be, repeated and
simultaneous deliveries, two buckets sharing a result bucket, keys in any script in reply headers. Each
answer is the documented 4xx or a correct result; no worker dies, nothing lands outside its place.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from conftest import image_bytes
from eventing import Moto, event, minio_body, s3_env, s3_record, send
from server import Server, running

RECEIPT_FIRST_LINE = "美味小馆"


def squash(text: str) -> str:
    return "".join(text.split())


def metric(server: Server, name: str) -> float:
    text = requests.get(server.url + "/metrics", timeout=10).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def worker_started(server: Server) -> float:
    """When the serving worker process started: changes only if the worker died and was replaced."""
    return metric(server, "process_start_time_seconds")


def assert_error(response: requests.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["error"] == error and body["request_id"], body
    return body


def request_event(url: str, version: str | None = None) -> CloudEvent:
    data = {"url": url} if version is None else {"url": url, "version": version}
    return event("dev.ocrfn.ocr.request", data)


# ---------------------------------------------------------------------------------------------------------
# Cloud mode against moto
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto():
    srv = Moto()
    srv.start()
    s3 = srv.client()
    for name in ("alpha", "beta", "results"):
        s3.create_bucket(Bucket=name)
    s3.put_object(Bucket="alpha", Key="scan.png", Body=image_bytes("receipt.png"), ContentType="image/png")
    s3.put_object(Bucket="beta", Key="scan.png", Body=image_bytes("line_en.png"), ContentType="image/png")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def cloud(moto, tmp_path_factory):
    env = {**s3_env(moto), "OCRFN_STORAGE": "s3", "OCRFN_RESULT_BUCKET": "results"}
    with running(tmp_path_factory.mktemp("cloud"), env) as srv:
        yield srv


def adapter_deliveries(server: Server, bucket: str) -> dict[str, requests.Response]:
    """The same upload announced by every S3-family adapter, for a bucket named *bucket*."""
    record = s3_record(bucket, "r.png", "etag-1")
    answers = {
        "s3": send(server, event("com.amazon.s3.objectcreated", record)),
        "ceph": send(server, event("com.amazonaws.s3:ObjectCreated:Put", record), "structured"),
        "kafka": send(server, event("dev.knative.kafka.event", minio_body(bucket, "r.png", "etag-1"))),
        "request": send(server, request_event(f"s3://{bucket}/r.png"), "structured"),
        "webhook": requests.post(server.url + "/", json=minio_body(bucket, "r.png", "etag-1"), timeout=60),
    }
    return answers


@pytest.mark.parametrize("bucket", ["a b", "a<b", "a`b", "a?b", "a#b", "x" * 300, "a/b"])
def test_bucket_names_no_store_can_take_are_400_and_the_worker_lives(cloud, bucket):
    started = worker_started(cloud)
    for adapter, response in adapter_deliveries(cloud, bucket).items():
        if adapter == "request" and "/" in bucket:
            continue  # in a URL the slash ends the bucket name: that is a different, valid bucket
        body = assert_error(response, 400, "invalid_key")
        assert "invalid bucket name" in body["message"], adapter
    assert requests.get(cloud.url + "/ready", timeout=5).status_code == 200
    assert worker_started(cloud) == started  # the same worker: nothing crashed it
    assert "PanicException" not in cloud.stderr()


def test_store_clients_stay_bounded_across_many_buckets(cloud):
    for i in range(80):
        response = send(cloud, request_event(f"s3://no-such-bucket-{i:03d}/a.png"))
        assert_error(response, 422, "object_missing")
    assert 0 < metric(cloud, "ocrfn_store_clients") <= 32


def test_two_buckets_never_share_a_result(cloud, moto):
    """alpha/scan.png and beta/scan.png with equal version labels: two results, each with its own text."""
    first = send(cloud, request_event("s3://alpha/scan.png", "1"))
    second = send(cloud, request_event("s3://beta/scan.png", "1"))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    s3 = moto.client()

    def result(bucket: str) -> dict:
        key = f"ocr-results/{bucket}/scan.png.json"
        return json.loads(s3.get_object(Bucket="results", Key=key)["Body"].read())

    alpha, beta = result("alpha"), result("beta")
    assert squash(alpha["data"][0]["text"]) == RECEIPT_FIRST_LINE
    assert beta["data"][0]["text"].startswith("Invoice")
    assert alpha["source"]["url"] == "s3://alpha/scan.png" and beta["source"]["url"] == "s3://beta/scan.png"
    # A redelivery of either is recognised as its own duplicate and does not touch the other.
    again = send(cloud, request_event("s3://beta/scan.png", "1"))
    (summary,) = json.loads(again.content)["objects"]
    assert summary["status"] == "duplicate"
    assert summary["result"] == "s3://results/ocr-results/beta/scan.png.json"
    assert squash(result("alpha")["data"][0]["text"]) == RECEIPT_FIRST_LINE


def test_schemes_the_mode_does_not_serve_are_refused_at_once(cloud):
    started = time.monotonic()
    body = assert_error(send(cloud, request_event("gs://acme-scans/a.png")), 400, "unsupported_scheme")
    assert "reads s3://" in body["message"]
    assert time.monotonic() - started < 3  # no trip to a metadata server for Google credentials
    assert_error(send(cloud, request_event("file://photos/a.png")), 400, "unsupported_scheme")


# ---------------------------------------------------------------------------------------------------------
# Local buckets
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile-local")
    buckets = base / "buckets"
    (buckets / "photos").mkdir(parents=True)
    (base / "outside").mkdir()
    return buckets


@pytest.fixture(scope="module")
def local(root, tmp_path_factory):
    env = {"OCRFN_FILE_ROOT": str(root), "OCRFN_MAX_RESULT_BYTES": "1000000"}
    with running(tmp_path_factory.mktemp("local-logs"), env) as srv:
        yield srv


def put(root: Path, relative: str, data: bytes | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes("line_en.png") if data is None else data)
    return path


def test_a_key_in_any_script_is_answered_with_a_valid_reply_event(local, root):
    put(root, "photos/发票/收据 2024.png")
    url = "file://photos/发票/收据 2024.png"
    response = send(local, request_event(url))
    assert response.status_code == 200, response.text
    subject = response.headers["ce-subject"]
    assert subject.isascii() and unquote(subject) == url  # percent-encoded as the CloudEvents binding says
    summary = json.loads(response.content)["objects"][0]
    assert summary["status"] == "completed" and summary["source"] == url
    logged = [json.loads(line) for line in local.stdout().splitlines() if line.startswith("{")]
    line = next(r for r in logged if r.get("objects") and r["objects"][0].get("source") == url)
    assert line["status"] == 200  # what the client received
    # Redelivered: the same, as often as it comes.
    assert send(local, request_event(url)).status_code == 200


def test_simultaneous_identical_deliveries_run_one_ocr(local, root):
    put(root, "photos/same.png")
    before = metric(local, "ocrfn_images_processed_total")
    answers: list[requests.Response] = []

    def deliver() -> None:
        answers.append(send(local, request_event("file://photos/same.png", "v7")))

    callers = [threading.Thread(target=deliver) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    statuses = sorted(json.loads(a.content)["objects"][0]["status"] for a in answers)
    assert [a.status_code for a in answers] == [200] * 3
    assert statuses == ["completed", "duplicate", "duplicate"]
    assert metric(local, "ocrfn_images_processed_total") - before == 1


def test_a_notification_repeating_one_record_runs_one_ocr(local, root):
    put(root, "photos/forty.png")
    body = minio_body("photos", "forty.png", "e40")
    body["Records"] = body["Records"] * 40
    before = metric(local, "ocrfn_images_processed_total")
    first = requests.post(local.url + "/", json=body, timeout=120, headers={"Prefer": "reply"})
    assert first.status_code == 200, first.text
    assert [o["status"] for o in json.loads(first.content)["objects"]] == ["completed"]
    again = requests.post(local.url + "/", json=body, timeout=120, headers={"Prefer": "reply"})
    assert [o["status"] for o in json.loads(again.content)["objects"]] == ["duplicate"]
    assert metric(local, "ocrfn_images_processed_total") - before == 1


HOSTILE_RESULTS = {
    "deep JSON": b"[" * 100_000 + b"]" * 100_000,
    "many values": b"[" + b"{}," * 300_000 + b"{}]",
    "not UTF-8": b'{"source": {"version": "\xff\xfe"}}',
    "a 5000-digit version": b'{"source": {"version": ' + b"9" * 5000 + b"}}",
    "too large": b" " * 2_000_000 + b"{}",
    "another object's record": json.dumps(
        {"source": {"url": "file://photos/other.png", "version": "v1"}}
    ).encode(),
}


@pytest.mark.parametrize("kind", [*HOSTILE_RESULTS, "a FIFO"])
def test_odd_content_at_a_result_key_is_replaced_by_a_real_result(local, root, kind):
    name = f"odd-{abs(hash(kind)) % 10_000}.png"
    put(root, f"photos/{name}")
    result = root / "photos" / "ocr-results" / f"{name}.json"
    result.parent.mkdir(parents=True, exist_ok=True)
    if kind == "a FIFO":
        os.mkfifo(result)
    else:
        result.write_bytes(HOSTILE_RESULTS[kind])
    response = send(local, request_event(f"file://photos/{name}", "v1"))
    assert response.status_code == 200, response.text
    assert json.loads(response.content)["objects"][0]["status"] == "completed"
    record = json.loads(result.read_bytes())
    assert record["data"][0]["text"].startswith("Invoice") and record["source"]["version"] == "v1"


def test_a_directory_at_the_result_key_is_a_clear_400(local, root):
    put(root, "photos/blocked.png")
    (root / "photos" / "ocr-results" / "blocked.png.json").mkdir(parents=True)
    assert_error(send(local, request_event("file://photos/blocked.png")), 400, "invalid_key")


def test_links_never_lead_out_of_the_root(local, root):
    outside = root.parent / "outside"
    (outside / "secret.png").write_bytes(image_bytes("line_en.png"))
    (root / "linked").symlink_to(outside)
    body = assert_error(send(local, request_event("file://linked/secret.png")), 400, "invalid_key")
    assert "symbolic link" in body["message"] and str(root) not in body["message"]
    # A linked result directory: nothing is written through it.
    put(root, "writer/scan.png")
    (root / "writer" / "ocr-results").symlink_to(outside)
    assert_error(send(local, request_event("file://writer/scan.png")), 400, "invalid_key")
    # A linked source file.
    (root / "photos" / "link.png").symlink_to(outside / "secret.png")
    assert_error(send(local, request_event("file://photos/link.png")), 400, "invalid_key")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.png"]


def test_keys_that_can_never_work_are_400_and_odd_but_valid_ones_work(local, root):
    segment = "k" * 256
    assert_error(send(local, request_event(f"file://photos/{segment}.png")), 400, "invalid_key")
    assert_error(send(local, request_event("file://" + "b" * 300 + "/a.png")), 400, "invalid_key")
    put(root, "photos/scan.png#12")
    response = send(local, request_event("file://photos/scan.png#12"))
    assert response.status_code == 200, response.text
    assert (root / "photos" / "ocr-results" / "scan.png#12.json").is_file()


def test_missing_buckets_are_named_without_the_server_paths(local, root):
    body = assert_error(send(local, request_event("file://nobucket/a.png")), 422, "object_missing")
    assert str(root) not in body["message"] and "file://nobucket/a.png" in body["message"]


@pytest.mark.parametrize(
    "data",
    [
        b'{"bucket": "photos", "name": "a.png", "size": Infinity}',
        b'{"bucket": "photos", "name": "a.png", "size": NaN}',
        b'{"bucket": "photos", "name": "a.png", "size": 1' + b"0" * 5000 + b"}",
        b'{"bucket": "photos", "name": "a.png", "size": -5}',
        b'{"bucket": "photos", "name": "a.png", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_malformed_event_data_is_a_400(local, data, mode):
    attributes = {"type": "google.cloud.storage.object.v1.finalized", "source": "t", "id": "1"}
    if mode == "binary":
        headers = {f"ce-{k}": v for k, v in attributes.items()} | {
            "ce-specversion": "1.0",
            "Content-Type": "application/json",
        }
        body = data
    else:
        headers = {"Content-Type": "application/cloudevents+json"}
        envelope = json.dumps({"specversion": "1.0", **attributes, "datacontenttype": "application/json"})
        body = envelope[:-1].encode() + b', "data": ' + data + b"}"
    response = requests.post(local.url + "/", data=body, headers=headers, timeout=30)
    assert_error(response, 400, "invalid_event")


def test_structured_and_binary_events_name_what_is_missing(local):
    headers = {"ce-specversion": "1.0", "ce-type": "t", "ce-source": "s", "Content-Type": "application/json"}
    body = assert_error(
        requests.post(local.url + "/", data=b"{}", headers=headers, timeout=30), 400, "invalid_event"
    )
    assert "ce-id" in body["message"]
    headers, body_bytes = to_structured(request_event("file://photos/a.png"))
    huge = body_bytes[:-1] + b', "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert_error(requests.post(local.url + "/", data=huge, headers=headers, timeout=30), 400, "invalid_event")
    headers, body_bytes = to_binary(request_event("file://photos/a.png"))
    assert_error(
        requests.post(local.url + "/", data=b"[" * 200 + b"]" * 200, headers=headers, timeout=30),
        400,
        "invalid_event",
    )
