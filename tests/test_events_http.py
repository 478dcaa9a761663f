"""Storage-upload events end to end: real server processes, a real S3 server (moto) over HTTP, local buckets.

Events are built with the cloudevents SDK in binary and structured mode, as brokers and sources send them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from cloudevents.http import CloudEvent
from conftest import image_bytes
from eventing import Moto, etag_of, event, minio_body, reply_event, s3_env, s3_record, send
from server import Server, running

RECEIPT = "receipt.png"
RECEIPT_FIRST_LINE = "美味小馆"


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def moto():
    srv = Moto()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def cloud(moto, tmp_path_factory):
    with running(tmp_path_factory.mktemp("cloud"), s3_env(moto)) as srv:
        yield srv


@pytest.fixture
def bucket(moto):
    """A fresh bucket with the receipt uploaded under a key with a space and a non-ASCII letter."""
    name = "b" + uuid.uuid4().hex[:12]
    s3 = moto.client()
    s3.create_bucket(Bucket=name)
    s3.put_object(
        Bucket=name, Key="scans/März 1/receipt.png", Body=image_bytes(RECEIPT), ContentType="image/png"
    )
    return name


def result_of(moto: Moto, bucket: str, key: str) -> dict:
    body = moto.client().get_object(Bucket=bucket, Key=f"ocr-results/{key}.json")["Body"].read()
    return json.loads(body)


KEY = "scans/März 1/receipt.png"


# ---------------------------------------------------------------------------------------------------------
# Every S3-family source against the S3 server
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_triggermesh_s3_event_writes_result_and_replies(cloud, moto, bucket, mode):
    etag = etag_of(moto, bucket, KEY)
    ev = event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, etag), f"arn:aws:s3:::{bucket}", KEY)
    response = send(cloud, ev, mode)
    reply = reply_event(response)
    (summary,) = reply.data["objects"]
    assert summary["status"] == "completed"
    assert summary["source"] == f"s3://{bucket}/{KEY}"
    assert summary["result"] == f"s3://{bucket}/ocr-results/{KEY}.json"
    result = result_of(moto, bucket, KEY)
    assert result["code"] == 0
    assert squash(result["data"][0]["text"]) == RECEIPT_FIRST_LINE
    texts = [item["text"] for item in result["data"]]
    assert "日期 2024-08-15 12:36" in texts and "Thank you! 欢迎再次光临" in texts  # spaces kept
    assert summary["lines"] == len(result["data"])
    assert result["source"]["key"] == KEY and result["source"]["version"] == etag
    assert result["source"]["url"] == f"s3://{bucket}/{KEY}"
    assert {"cost_time", "width", "height", "model"} <= set(result)


@pytest.mark.parametrize("mode", ["binary", "structured"])
@pytest.mark.parametrize("kind", ["com.amazonaws.s3:ObjectCreated:Put", "com.amazonaws.ObjectCreated:Put"])
def test_ceph_event(cloud, moto, bucket, kind, mode):
    ev = event(kind, s3_record(bucket, KEY, versionId="v-ceph-1"), f"ceph.us-east-1.{bucket}", KEY)
    response = send(cloud, ev, mode)
    assert reply_event(response).data["objects"][0]["status"] == "completed"
    assert result_of(moto, bucket, KEY)["source"]["version"] == "v-ceph-1"


def test_minio_webhook_and_its_liveness_check(cloud, moto, bucket):
    assert requests.head(cloud.url + "/", timeout=5).status_code == 200
    response = requests.post(
        cloud.url + "/", json=minio_body(bucket, KEY, etag_of(moto, bucket, KEY)), timeout=120
    )
    assert response.status_code == 204 and response.content == b""  # MinIO asks for no reply
    assert squash(result_of(moto, bucket, KEY)["data"][0]["text"]) == RECEIPT_FIRST_LINE


def test_minio_metadata_only_notification_is_ignored(cloud, moto, bucket):
    response = requests.post(
        cloud.url + "/",
        json=minio_body(bucket, KEY, etag_of(moto, bucket, KEY), "s3:ObjectCreated:PutTagging"),
        timeout=30,
    )
    assert response.status_code == 204
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix="ocr-results/")
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_minio_through_kafka_source(cloud, moto, bucket, mode):
    ev = CloudEvent(
        {
            "type": "dev.knative.kafka.event",
            "source": "/apis/v1/namespaces/default/kafkasources/minio#minio-events",
            "id": "partition:0/offset:42",
            "datacontenttype": "application/json",
        },
        minio_body(bucket, KEY, etag_of(moto, bucket, KEY)),
    )
    assert reply_event(send(cloud, ev, mode)).data["objects"][0]["status"] == "completed"
    assert result_of(moto, bucket, KEY)["source"]["version"] == etag_of(moto, bucket, KEY)


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_ocrfn_request_event(cloud, moto, bucket, mode):
    response = send(cloud, event("dev.ocrfn.ocr.request", {"url": f"s3://{bucket}/{KEY}"}), mode)
    summary = reply_event(response).data["objects"][0]
    assert summary["status"] == "completed"
    # Without a version in the event, the store's eTag identifies the content.
    assert summary["version"] == result_of(moto, bucket, KEY)["source"]["version"]
    assert summary["version"].strip('"') == etag_of(moto, bucket, KEY)


# ---------------------------------------------------------------------------------------------------------
# Delivery semantics
# ---------------------------------------------------------------------------------------------------------
def metric(server: Server, name: str, labels: str = "") -> float:
    sample = f"{name}{{{labels}}} " if labels else f"{name} "
    for row in requests.get(server.url + "/metrics", timeout=5).text.splitlines():
        if row.startswith(sample):
            return float(row.split()[1])
    return 0.0


def test_duplicate_delivery_does_not_run_ocr_again(cloud, moto, bucket):
    etag = etag_of(moto, bucket, KEY)
    ev = event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, etag))
    images_before = metric(cloud, "ocrfn_images_processed_total")
    first = reply_event(send(cloud, ev)).data["objects"][0]
    written = moto.client().head_object(Bucket=bucket, Key=f"ocr-results/{KEY}.json")
    again = CloudEvent(dict(ev.get_attributes(), id=uuid.uuid4().hex), ev.data)  # a redelivery, new id
    second = reply_event(send(cloud, again)).data["objects"][0]
    assert (first["status"], second["status"]) == ("completed", "duplicate")
    assert second["result"] == first["result"] and second["version"] == etag
    assert metric(cloud, "ocrfn_images_processed_total") == images_before + 1
    duplicates = 'outcome="duplicate",source="s3",type="com.amazon.s3.objectcreated"'
    assert metric(cloud, "ocrfn_events_total", duplicates) >= 1
    unchanged = moto.client().head_object(Bucket=bucket, Key=f"ocr-results/{KEY}.json")
    assert unchanged["ETag"] == written["ETag"] and unchanged["LastModified"] == written["LastModified"]
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix="ocr-results/")
    assert listed["KeyCount"] == 1
    # A new version of the object is processed again.
    moto.client().put_object(
        Bucket=bucket, Key=KEY, Body=image_bytes("two_column.png"), ContentType="image/png"
    )
    new_etag = etag_of(moto, bucket, KEY)
    third = reply_event(send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, new_etag))))
    assert third.data["objects"][0]["status"] == "completed"
    assert result_of(moto, bucket, KEY)["source"]["version"] == new_etag


def test_every_event_is_counted_by_source_type_and_outcome(cloud, moto, bucket):
    """ocrfn_events_total counts failures too, each by the error that ended it, with bounded labels."""
    created = "com.amazon.s3.objectcreated"
    moto.client().put_object(Bucket=bucket, Key="fake.png", Body=b"plain text, not a PNG")
    cases = [
        (event(created, s3_record(bucket, KEY, etag_of(moto, bucket, KEY))), "s3", created, "completed"),
        (event(created, s3_record(bucket, KEY, etag_of(moto, bucket, KEY))), "s3", created, "duplicate"),
        (event(created, s3_record(bucket, "gone.png", "e1")), "s3", created, "object_missing"),
        (
            event(created, s3_record(bucket, "fake.png", etag_of(moto, bucket, "fake.png"))),
            "s3",
            created,
            "not_an_image",
        ),
        (event(created, s3_record(bucket, "notes.txt", "e2")), "s3", created, "skipped"),
        (event(created, {"no": "record"}), "s3", created, "invalid_event"),
        (event("com.amazon.s3.testevent", {}), "s3", "com.amazon.s3.testevent", "ignored"),
        (
            event("dev.ocrfn.ocr.request", {"url": "s3://x/../../etc"}),
            "ocrfn",
            "dev.ocrfn.ocr.request",
            "invalid_key",
        ),
        (event("com.example." + uuid.uuid4().hex, {}), "unknown", "other", "unsupported_event"),
        (
            event("com.amazonaws.s3:ObjectCreated:" + uuid.uuid4().hex, s3_record(bucket, "gone.png", "e3")),
            "ceph",
            "com.amazonaws.s3:ObjectCreated:*",
            "object_missing",
        ),
    ]
    for ev, source, kind, outcome in cases:
        labels = f'outcome="{outcome}",source="{source}",type="{kind}"'
        before = metric(cloud, "ocrfn_events_total", labels)
        response = send(cloud, ev)
        assert response.status_code < 500, response.text
        assert metric(cloud, "ocrfn_events_total", labels) == before + 1, (outcome, response.text)
    exposition = requests.get(cloud.url + "/metrics", timeout=5).text
    assert "com.example." not in exposition  # invented types do not become label values


def test_no_reply_without_prefer_and_when_replies_are_off(cloud, moto, bucket, tmp_path):
    ev = event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, etag_of(moto, bucket, KEY)))
    response = send(cloud, ev, reply=False)
    assert response.status_code == 204 and response.content == b""
    assert "ce-type" not in response.headers and "Content-Type" not in response.headers
    assert result_of(moto, bucket, KEY)["code"] == 0  # written all the same
    quiet = Server(tmp_path, {**s3_env(moto), "OCRFN_EVENT_REPLY": "false"})
    try:
        quiet.wait_ready()
        moto.client().delete_object(Bucket=bucket, Key=f"ocr-results/{KEY}.json")
        response = send(quiet, ev, reply=True)
        assert response.status_code == 204 and response.content == b""
        assert result_of(moto, bucket, KEY)["code"] == 0
    finally:
        quiet.stop()


def assert_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and body["error"] == error and body["request_id"]


def test_missing_object_is_not_retried(cloud, bucket):
    response = send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, "gone.png", "e1")))
    assert_error(response, 422, "object_missing")


def test_object_that_is_not_an_image_is_not_retried(cloud, moto, bucket):
    moto.client().put_object(Bucket=bucket, Key="fake.png", Body=b"plain text, not a PNG")
    etag = etag_of(moto, bucket, "fake.png")
    response = send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, "fake.png", etag)))
    assert_error(response, 400, "not_an_image")


@pytest.mark.parametrize(
    ("key", "content_type"), [("notes/readme.txt", "text/plain"), ("data/export", "application/json")]
)
def test_clearly_not_images_are_acknowledged_as_skipped(cloud, moto, bucket, key, content_type):
    moto.client().put_object(Bucket=bucket, Key=key, Body=b"{}", ContentType=content_type)
    response = send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, key, "e3")))
    summary = reply_event(response).data["objects"][0] if response.status_code == 200 else None
    assert response.status_code in (200, 204)
    if summary is not None:
        assert summary["status"] == "skipped"
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix="ocr-results/")
    assert listed.get("KeyCount", 0) == 0


def test_results_do_not_trigger_themselves(cloud, moto, bucket):
    reply_event(
        send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, etag_of(moto, bucket, KEY))))
    )
    result_key = f"ocr-results/{KEY}.json"
    ev = event("com.amazon.s3.objectcreated", s3_record(bucket, result_key, "e5"))
    response = send(cloud, ev)
    assert response.status_code == 204  # skipped: nothing produced, nothing to reply
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix="ocr-results/")
    assert [o["Key"] for o in listed["Contents"]] == [result_key]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"url": "s3://bucket/../../etc/passwd"}, "invalid_key"),
        ({"url": "file://photos/a/../../../etc/passwd"}, "unsupported_scheme"),  # cloud mode: no local files
        ({"url": "http://example.com/x.png"}, "unsupported_scheme"),
        ({"url": "not a url"}, "invalid_event"),
    ],
)
def test_keys_cannot_escape_their_bucket(cloud, data, error):
    assert_error(send(cloud, event("dev.ocrfn.ocr.request", data)), 400, error)


def test_traversal_in_an_s3_record_is_refused(cloud, bucket):
    record = s3_record(bucket, "x.png", "e6")
    record["s3"]["object"]["key"] = "..%2F..%2Fetc%2Fpasswd.png"
    assert_error(send(cloud, event("com.amazon.s3.objectcreated", record)), 400, "invalid_key")


def test_unknown_event_type_is_a_clear_400(cloud):
    response = send(cloud, event("com.example.unknown", {"x": 1}))
    assert_error(response, 400, "unsupported_event")
    assert "com.example.unknown" in response.json()["message"]
    assert "google.cloud.storage.object.v1.finalized" in response.json()["message"]


def test_malformed_cloudevent_is_400(cloud):
    response = requests.post(
        cloud.url + "/",
        data=b"{}",
        headers={
            "ce-specversion": "1.0",
            "ce-type": "dev.ocrfn.ocr.request",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert_error(response, 400, "invalid_event")


BINARY = {"ce-specversion": "1.0", "ce-id": "e-1", "ce-source": "test", "ce-type": "dev.ocrfn.ocr.request"}


@pytest.mark.parametrize(
    ("drop", "says"),
    [
        ("ce-id", "lacks the header(s) ce-id."),
        ("ce-specversion", "lacks the header(s) ce-specversion."),
        ("ce-type", "lacks the header(s) ce-type."),
    ],
)
def test_a_binary_event_missing_one_header_is_told_which(cloud, drop, says):
    headers = {k: v for k, v in BINARY.items() if k != drop}
    response = requests.post(
        cloud.url + "/",
        json={"url": "s3://bucket/a.png"},
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert_error(response, 400, "invalid_event")
    assert response.json()["message"].endswith(says), response.json()["message"]
    assert "Failed to find" not in response.json()["message"]


@pytest.mark.parametrize("drop", ["specversion", "id", "type"])
def test_a_structured_event_missing_an_attribute_is_told_which(cloud, drop):
    attributes = {"specversion": "1.0", "id": "e-2", "source": "test", "type": "dev.ocrfn.ocr.request"}
    body = {k: v for k, v in attributes.items() if k != drop} | {"data": {"url": "s3://bucket/a.png"}}
    response = requests.post(
        cloud.url + "/", json=body, headers={"Content-Type": "application/cloudevents+json"}, timeout=30
    )
    assert_error(response, 400, "invalid_event")
    assert response.json()["message"].endswith(f"lacks the attribute(s) {drop}."), response.json()["message"]


def test_request_event_data_without_the_event_gets_a_hint(cloud):
    response = requests.post(cloud.url + "/", json={"url": "s3://bucket/a.png"}, timeout=30)
    assert_error(response, 400, "unknown_field")
    message = response.json()["message"]
    assert "'url'" in message and "dev.ocrfn.ocr.request" in message and "ce-specversion" in message


def test_storage_down_is_503_and_recovers_without_restart(tmp_path):
    outage = Moto()
    outage.start()
    srv = Server(tmp_path, s3_env(outage))
    try:
        srv.wait_ready()
        name = "outage"
        outage.client().create_bucket(Bucket=name)
        outage.client().put_object(
            Bucket=name, Key="r.png", Body=image_bytes(RECEIPT), ContentType="image/png"
        )
        etag = hashlib.md5(image_bytes(RECEIPT)).hexdigest()  # S3's eTag of a single-part upload
        ev = event("com.amazon.s3.objectcreated", s3_record(name, "r.png", etag))
        outage.stop()
        down = send(srv, ev)
        assert_error(down, 503, "storage_unavailable")
        logged = [json.loads(line) for line in srv.stdout().splitlines() if line.startswith("{")]
        (line,) = [r for r in logged if r.get("request_id") == down.json()["request_id"]]
        # Worth a retry, so a WARNING; the store client's exception type and words are in the log only.
        assert line["severity"] == "WARNING" and line["error"] == "storage_unavailable"
        assert line["exception"] and line["exception"] in line["detail"]
        assert line["exception"] not in down.text
        assert requests.get(srv.url + "/ready", timeout=5).status_code == 200  # the process stays healthy
        outage.start()  # same port, empty state: the object is uploaded again
        outage.client().create_bucket(Bucket=name)
        outage.client().put_object(
            Bucket=name, Key="r.png", Body=image_bytes(RECEIPT), ContentType="image/png"
        )
        assert reply_event(send(srv, ev)).data["objects"][0]["status"] == "completed"
        assert squash(result_of(outage, name, "r.png")["data"][0]["text"]) == RECEIPT_FIRST_LINE
    finally:
        srv.stop()
        outage.stop()


# ---------------------------------------------------------------------------------------------------------
# The embedded default: local buckets (file mode), through the real server process
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local(tmp_path_factory):
    root = tmp_path_factory.mktemp("buckets")
    (root / "photos" / "in").mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "data" / "images" / RECEIPT, root / "photos" / "in" / RECEIPT)
    with running(tmp_path_factory.mktemp("local"), {"OCRFN_FILE_ROOT": str(root)}) as srv:
        yield srv, root


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_gcs_event_on_local_buckets(local, mode):
    srv, root = local
    data = {
        "bucket": "photos",
        "name": f"in/{RECEIPT}",
        "contentType": "image/png",
        "size": str(len(image_bytes(RECEIPT))),
        "generation": "1700000000000001" if mode == "binary" else "1700000000000002",
        "metageneration": "1",
    }
    ev = event(
        "google.cloud.storage.object.v1.finalized", data, "//storage.googleapis.com/projects/_/buckets/photos"
    )
    summary = reply_event(send(srv, ev, mode)).data["objects"][0]
    assert summary["status"] == "completed"
    written = json.loads(
        (root / "photos" / "ocr-results" / "in" / f"{RECEIPT}.json").read_text(encoding="utf-8")
    )
    assert squash(written["data"][0]["text"]) == RECEIPT_FIRST_LINE
    assert written["source"]["version"] == data["generation"]


def test_request_event_with_file_url(local):
    srv, root = local
    response = send(
        srv, event("dev.ocrfn.ocr.request", {"url": f"file://photos/in/{RECEIPT}", "version": "x1"})
    )
    assert (
        reply_event(response).data["objects"][0]["result"] == f"file://photos/ocr-results/in/{RECEIPT}.json"
    )
    assert (root / "photos" / "ocr-results" / "in" / f"{RECEIPT}.json").exists()


def test_local_bucket_missing_or_escaping(local):
    srv, root = local
    ev = event("dev.ocrfn.ocr.request", {"url": "file://nope/x.png"})
    assert_error(send(srv, ev), 422, "object_missing")
    (root.parent / "secret.png").write_bytes(image_bytes(RECEIPT))
    escaping = event(
        "google.cloud.storage.object.v1.finalized", {"bucket": "photos", "name": "../secret.png"}
    )
    assert_error(send(srv, escaping), 400, "invalid_key")
    assert not (root / "photos" / "ocr-results" / "..").resolve().joinpath("secret.png.json").exists()


def test_worker_that_used_storage_shuts_down_promptly(tmp_path, local):
    _, root = local
    srv = Server(tmp_path, {"OCRFN_FILE_ROOT": str(root)})
    srv.wait_ready()
    request = {"url": f"file://photos/in/{RECEIPT}", "version": "x2"}
    assert send(srv, event("dev.ocrfn.ocr.request", request)).status_code == 200
    srv.terminate()
    # Without the exit guard the worker hung in interpreter teardown until gunicorn's 30 s graceful
    # timeout killed it; a scale-down must not take that long.
    assert srv.process.wait(15) == 0
    srv.stop()


def test_objects_over_the_size_limit_are_not_retried(tmp_path, local, cloud, bucket):
    # Announced size over the limit: refused before any download.
    record = s3_record(bucket, KEY, "e7")
    record["s3"]["object"]["size"] = 50 * 1024 * 1024
    assert_error(send(cloud, event("com.amazon.s3.objectcreated", record)), 422, "object_too_large")
    # No size in the event: the store's size is checked before the body is read.
    _, root = local
    small = Server(tmp_path, {"OCRFN_FILE_ROOT": str(root), "OCRFN_MAX_BODY_BYTES": "10000"})
    try:
        small.wait_ready()
        ev = event("dev.ocrfn.ocr.request", {"url": f"file://photos/in/{RECEIPT}", "version": "big"})
        assert_error(send(small, ev), 422, "object_too_large")
    finally:
        small.stop()


def test_late_delivery_of_an_older_version_does_not_replace_the_newer_result(cloud, moto, bucket):
    old_etag = etag_of(moto, bucket, KEY)
    moto.client().put_object(
        Bucket=bucket, Key=KEY, Body=image_bytes("two_column.png"), ContentType="image/png"
    )
    new_etag = etag_of(moto, bucket, KEY)
    newer = reply_event(send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, new_etag))))
    assert newer.data["objects"][0]["status"] == "completed"
    # The event of the first upload arrives last (out of order): it must not overwrite the result.
    late = send(cloud, event("com.amazon.s3.objectcreated", s3_record(bucket, KEY, old_etag)))
    assert late.status_code == 204  # acknowledged, nothing produced
    result = result_of(moto, bucket, KEY)
    assert result["source"]["version"] == new_etag
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix="ocr-results/")
    assert listed["KeyCount"] == 1  # exactly one result, of the newest version


def test_scanned_pdf_in_s3_gets_json_text_and_hocr_results(moto, tmp_path):
    """A 2-page scan (the second page turned) uploaded to S3: every asked-for format is stored, typed."""
    from test_document import image_pdf, receipt, turned

    name = "b" + uuid.uuid4().hex[:12]
    s3 = moto.client()
    s3.create_bucket(Bucket=name)
    key = "contracts/2026/scan.pdf"
    s3.put_object(
        Bucket=name,
        Key=key,
        Body=image_pdf([receipt(), turned(receipt(), 90)]),
        ContentType="application/pdf",
    )
    env = {**s3_env(moto), "OCRFN_RESULT_FORMATS": "json,text,hocr"}
    with running(tmp_path, env) as srv:
        ev = event("com.amazon.s3.objectcreated", s3_record(name, key, etag_of(moto, name, key)), "s3", key)
        (summary,) = reply_event(send(srv, ev)).data["objects"]
    assert summary["status"] == "completed"
    result = result_of(moto, name, key)
    assert [(p["page"], p["angle"]) for p in result["pages"]] == [(1, 0), (2, 90)]
    assert all(squash(p["data"][0]["text"]) == RECEIPT_FIRST_LINE for p in result["pages"])

    def stored(suffix: str) -> tuple[bytes, str]:
        obj = s3.get_object(Bucket=name, Key=f"ocr-results/{key}{suffix}")
        return obj["Body"].read(), obj["ContentType"]

    text, text_type = stored(".txt")
    assert text_type.startswith("text/plain")
    first_lines = [squash(page.splitlines()[0]) for page in text.decode("utf-8").split("\f")]
    assert first_lines == [RECEIPT_FIRST_LINE, RECEIPT_FIRST_LINE]
    hocr, hocr_type = stored(".hocr")
    assert hocr_type.startswith("application/xhtml+xml")
    pages = [e for e in ET.fromstring(hocr).iter() if e.get("class") == "ocr_page"]
    assert len(pages) == 2
    assert stored(".json")[1] == "application/json"
