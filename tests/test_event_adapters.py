"""Storage-upload events become object references; keys are checked; non-images are recognised."""

import copy
import json

import pytest

from function.events import (
    Event,
    EventError,
    IgnoredEvent,
    ObjectRef,
    UnsupportedEventError,
    minio,
    references,
)
from function.events.request import split_url
from function.ingest import Ingest, not_an_image
from function.settings import load_settings
from function.storage import InvalidKeyError, Storage, check_bucket, check_key

# --- Google Cloud Storage through Eventarc ------------------------------------------------------------

GCS_TYPE = "google.cloud.storage.object.v1.finalized"
GCS_DATA = {
    "kind": "storage#object",
    "id": "acme-scans/inbox/receipt-0042.jpg/1710408413589123",
    "selfLink": "https://www.googleapis.com/storage/v1/b/acme-scans/o/inbox%2Freceipt-0042.jpg",
    "name": "inbox/receipt-0042.jpg",
    "bucket": "acme-scans",
    "generation": "1710408413589123",
    "metageneration": "1",
    "contentType": "image/jpeg",
    "timeCreated": "2024-03-14T09:26:53.612Z",
    "updated": "2024-03-14T09:26:53.612Z",
    "storageClass": "STANDARD",
    "timeStorageClassUpdated": "2024-03-14T09:26:53.612Z",
    "size": "183422",
    "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==",
    "mediaLink": (
        "https://storage.googleapis.com/download/storage/v1/b/acme-scans/o/inbox%2Freceipt-0042.jpg"
        "?generation=1710408413589123&alt=media"
    ),
    "crc32c": "AAAAAA==",
    "etag": "CIOnm8ybr4QDEAE=",
}
GCS_REF = ObjectRef(
    scheme="gs",
    bucket="acme-scans",
    key="inbox/receipt-0042.jpg",
    version="1710408413589123",
    size=183422,
    content_type="image/jpeg",
)


def gcs_event(data) -> Event:
    return Event(
        type=GCS_TYPE,
        source="//storage.googleapis.com/projects/_/buckets/acme-scans",
        id="10386528441541934",
        subject="objects/inbox/receipt-0042.jpg",
        data=data,
    )


@pytest.mark.parametrize(
    "data",
    [GCS_DATA, json.dumps(GCS_DATA), json.dumps(GCS_DATA).encode("utf-8")],
    ids=["dict", "str", "bytes"],
)
def test_gcs_finalized(data):
    refs = references(gcs_event(data))
    assert refs == [GCS_REF]
    assert isinstance(refs[0].size, int)
    assert refs[0].url == "gs://acme-scans/inbox/receipt-0042.jpg"


def test_gcs_names_are_not_url_decoded():
    data = dict(GCS_DATA, name="inbox/a+b %41.png")
    assert references(gcs_event(data))[0].key == "inbox/a+b %41.png"


def test_gcs_without_generation_size_or_content_type():
    data = {"bucket": "acme-scans", "name": "inbox/receipt-0042.jpg"}
    assert references(gcs_event(data)) == [
        ObjectRef(scheme="gs", bucket="acme-scans", key="inbox/receipt-0042.jpg")
    ]


def test_gcs_numeric_generation_and_size():
    data = dict(GCS_DATA, generation=1710408413589123, size=183422)
    ref = references(gcs_event(data))[0]
    assert (ref.version, ref.size) == ("1710408413589123", 183422)


# --- AWS S3 through TriggerMesh's AWSS3Source -----------------------------------------------------------

S3_TYPE = "com.amazon.s3.objectcreated"
S3_RECORD = {
    "eventVersion": "2.1",
    "eventSource": "aws:s3",
    "awsRegion": "eu-west-1",
    "eventTime": "2024-03-14T09:26:53.589Z",
    "eventName": "ObjectCreated:Put",
    "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
    "requestParameters": {"sourceIPAddress": "203.0.113.7"},
    "responseElements": {
        "x-amz-request-id": "C3D13FE58DE4C810",
        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
    },
    "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "ocrfn-uploads",
        "bucket": {
            "name": "acme-receipts",
            "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
            "arn": "arn:aws:s3:::acme-receipts",
        },
        "object": {
            "key": "scans/March+2024/re%C3%A7u.png",
            "size": 48213,
            "eTag": "d41d8cd98f00b204e9800998ecf8427e",
            "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
            "sequencer": "0055AED6DCD90281E5",
        },
    },
}


def s3_event(data, type_: str = S3_TYPE) -> Event:
    return Event(
        type=type_,
        source="arn:aws:s3:::acme-receipts",
        id="f1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        subject="scans/March 2024/reçu.png",
        data=data,
    )


def s3_record(**object_fields) -> dict:
    """The S3 record with its ``s3.object`` fields replaced (``None`` removes a field)."""
    record = copy.deepcopy(S3_RECORD)
    obj = record["s3"]["object"]
    for name, value in object_fields.items():
        if value is None:
            obj.pop(name, None)
        else:
            obj[name] = value
    return record


@pytest.mark.parametrize(
    "data",
    [S3_RECORD, json.dumps(S3_RECORD), json.dumps(S3_RECORD).encode("utf-8")],
    ids=["dict", "str", "bytes"],
)
def test_s3_objectcreated(data):
    assert references(s3_event(data)) == [
        ObjectRef(
            scheme="s3",
            bucket="acme-receipts",
            key="scans/March 2024/reçu.png",
            version="096fKKXTRTtl3on89fVO.nfljtsv6qko",
            size=48213,
        )
    ]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("scans/March+2024/re%C3%A7u.png", "scans/March 2024/reçu.png"),
        ("a%2Bb.png", "a+b.png"),
        ("100%25+sure.png", "100% sure.png"),
        ("plain/key.png", "plain/key.png"),
    ],
)
def test_s3_keys_are_url_decoded(raw, key):
    assert references(s3_event(s3_record(key=raw)))[0].key == key


@pytest.mark.parametrize(
    ("fields", "version"),
    [
        ({}, "096fKKXTRTtl3on89fVO.nfljtsv6qko"),
        ({"versionId": None}, "d41d8cd98f00b204e9800998ecf8427e"),
        ({"versionId": ""}, "d41d8cd98f00b204e9800998ecf8427e"),
        ({"versionId": None, "eTag": None}, "0055AED6DCD90281E5"),
        ({"versionId": "", "eTag": ""}, "0055AED6DCD90281E5"),
        ({"versionId": None, "eTag": None, "sequencer": None}, None),
    ],
    ids=["versionId", "eTag", "eTag-empty-versionId", "sequencer", "sequencer-empty-others", "none"],
)
def test_s3_version_preference(fields, version):
    assert references(s3_event(s3_record(**fields)))[0].version == version


def test_s3_size_as_string_and_missing():
    assert references(s3_event(s3_record(size="48213")))[0].size == 48213
    assert references(s3_event(s3_record(size=None)))[0].size is None


@pytest.mark.parametrize("type_", ["com.amazon.s3.objectremoved", "com.amazon.s3.testevent"])
def test_s3_removed_and_test_events_are_ignored(type_):
    with pytest.raises(IgnoredEvent, match="nothing to OCR") as info:
        references(s3_event(S3_RECORD, type_))
    assert type_ in str(info.value)


def test_s3_test_event_with_its_own_data_is_ignored():
    data = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2024-03-14T09:20:00.000Z",
        "Bucket": "acme-receipts",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    with pytest.raises(IgnoredEvent):
        references(s3_event(data, "com.amazon.s3.testevent"))


# --- Ceph RGW through the CephSource -------------------------------------------------------------------

CEPH_RECORD = {
    "eventVersion": "2.2",
    "eventSource": "ceph:s3",
    "awsRegion": "default",
    "eventTime": "2024-03-14T09:26:53.589722Z",
    "eventName": "ObjectCreated:Put",
    "userIdentity": {"principalId": "scanner"},
    "requestParameters": {"sourceIPAddress": ""},
    "responseElements": {
        "x-amz-request-id": "0d6b1bd5-4f3c-4f4e-9a55-0b9e2a3e0f6d.4137.21",
        "x-amz-id-2": "",
    },
    "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "ocrfn",
        "bucket": {
            "name": "archive",
            "ownerIdentity": {"principalId": "scanner"},
            "arn": "arn:aws:s3:default::archive",
            "id": "0d6b1bd5-4f3c-4f4e-9a55-0b9e2a3e0f6d.4137.1",
        },
        "object": {
            "key": "2024/03/page+001.tif",
            "size": 1048576,
            "eTag": "9b2cf535f27731c974343645a3985328",
            "versionId": "",
            "sequencer": "5D6F8565228B1D11",
            "metadata": [],
            "tags": [],
        },
    },
    "eventId": "1710408413.589722.9b2cf535f27731c974343645a3985328",
    "opaqueData": "",
}
CEPH_REF = ObjectRef(
    scheme="s3",
    bucket="archive",
    key="2024/03/page 001.tif",
    version="9b2cf535f27731c974343645a3985328",
    size=1048576,
)


def ceph_event(type_: str, data) -> Event:
    return Event(
        type=type_,
        source="ceph-source.default.archive",
        id="1710408413.589722.9b2cf535f27731c974343645a3985328",
        subject="2024/03/page+001.tif",
        data=data,
    )


@pytest.mark.parametrize(
    "type_",
    [
        "com.amazonaws.s3:ObjectCreated:Put",
        "com.amazonaws.ObjectCreated:Put",
        "com.amazonaws.s3:ObjectCreated:Post",
        "com.amazonaws.s3:ObjectCreated:Copy",
        "com.amazonaws.s3:ObjectCreated:CompleteMultipartUpload",
        "com.amazonaws.ObjectCreated:CompleteMultipartUpload",
    ],
)
def test_ceph_object_created(type_):
    assert references(ceph_event(type_, CEPH_RECORD)) == [CEPH_REF]


def test_ceph_record_as_bytes_and_wrapped_in_records():
    put = "com.amazonaws.s3:ObjectCreated:Put"
    assert references(ceph_event(put, json.dumps(CEPH_RECORD).encode("utf-8"))) == [CEPH_REF]
    assert references(ceph_event(put, {"Records": [CEPH_RECORD]})) == [CEPH_REF]


@pytest.mark.parametrize(
    "type_",
    [
        "com.amazonaws.s3:ObjectRemoved:Delete",
        "com.amazonaws.ObjectRemoved:Delete",
        "com.amazonaws.s3:ObjectRemoved:DeleteMarkerCreated",
    ],
)
def test_ceph_removals_are_ignored(type_):
    with pytest.raises(IgnoredEvent, match="nothing to OCR") as info:
        references(ceph_event(type_, CEPH_RECORD))
    assert type_ in str(info.value)


# --- MinIO: webhook body, directly or through a KafkaSource -----------------------------------------------

MINIO_RECORD = {
    "eventVersion": "2.0",
    "eventSource": "minio:s3",
    "awsRegion": "",
    "eventTime": "2024-03-14T09:26:53.589Z",
    "eventName": "s3:ObjectCreated:Put",
    "userIdentity": {"principalId": "minioadmin"},
    "requestParameters": {"principalId": "minioadmin", "region": "", "sourceIPAddress": "10.0.0.5"},
    "responseElements": {
        "x-amz-id-2": "dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8",
        "x-amz-request-id": "17C1F5A0B4E3D2A1",
        "x-minio-deployment-id": "6b4a3e2c-1d0f-4e9b-8a7c-5d4e3f2a1b0c",
        "x-minio-origin-endpoint": "http://10.0.0.5:9000",
    },
    "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "Config",
        "bucket": {
            "name": "inbox",
            "ownerIdentity": {"principalId": "minioadmin"},
            "arn": "arn:aws:s3:::inbox",
        },
        "object": {
            "key": "invoices%2F2024%2Finvoice+42.png",
            "size": 20480,
            "eTag": "5d41402abc4b2a76b9719d911017c592",
            "contentType": "image/png",
            "userMetadata": {"content-type": "image/png"},
            "sequencer": "17C1F5A0B6F1C2D3",
        },
    },
    "source": {"host": "10.0.0.5", "port": "", "userAgent": "MinIO (linux; amd64) minio-go/v7.0.63"},
}
MINIO_BODY = {
    "EventName": "s3:ObjectCreated:Put",
    "Key": "inbox/invoices/2024/invoice 42.png",
    "Records": [MINIO_RECORD],
}
MINIO_REF = ObjectRef(
    scheme="s3",
    bucket="inbox",
    key="invoices/2024/invoice 42.png",
    version="5d41402abc4b2a76b9719d911017c592",
    size=20480,
    content_type="image/png",
)


def kafka_event(data) -> Event:
    return Event(
        type="dev.knative.kafka.event",
        source="/apis/v1/namespaces/default/kafkasources/minio-events#minio-events",
        id="partition:0/offset:42",
        subject="partition:0#42",
        data=data,
    )


@pytest.mark.parametrize(
    "data",
    [MINIO_BODY, json.dumps(MINIO_BODY).encode("utf-8")],
    ids=["dict", "bytes"],
)
def test_minio_through_kafka(data):
    assert references(kafka_event(data)) == [MINIO_REF]


def test_minio_webhook_with_two_records():
    second = copy.deepcopy(MINIO_RECORD)
    second["s3"]["object"].update(key="invoices%2F2024%2Finvoice+43.jpg", size=30720, eTag="abc123")
    del second["s3"]["object"]["contentType"]
    body = dict(MINIO_BODY, Records=[MINIO_RECORD, second])
    assert minio.webhook_references(body) == [
        MINIO_REF,
        ObjectRef(
            scheme="s3",
            bucket="inbox",
            key="invoices/2024/invoice 43.jpg",
            version="abc123",
            size=30720,
        ),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (MINIO_BODY, True),
        ({"EventName": "s3:ObjectCreated:Put", "Records": []}, True),
        ({"EventName": "s3:ObjectCreated:Put"}, False),
        ({"EventName": "s3:ObjectCreated:Put", "Records": {}}, False),
        ({"Records": [MINIO_RECORD]}, False),
        (S3_RECORD, False),
        ([MINIO_BODY], False),
        ("EventName", False),
        (None, False),
    ],
)
def test_minio_is_webhook(body, expected):
    assert minio.is_webhook(body) is expected


@pytest.mark.parametrize(
    "name",
    [
        "s3:ObjectCreated:PutTagging",
        "s3:ObjectCreated:PutRetention",
        "s3:ObjectCreated:PutLegalHold",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectAccessed:Get",
    ],
)
def test_minio_non_content_events_are_ignored(name):
    body = dict(MINIO_BODY, EventName=name)
    with pytest.raises(IgnoredEvent) as info:
        minio.webhook_references(body)
    assert name in str(info.value)
    with pytest.raises(IgnoredEvent):
        references(kafka_event(body))


@pytest.mark.parametrize(
    "name", ["s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:CompleteMultipartUpload"]
)
def test_minio_content_events_are_read(name):
    assert minio.webhook_references(dict(MINIO_BODY, EventName=name)) == [MINIO_REF]


def test_minio_without_records_is_an_error():
    with pytest.raises(EventError, match="without records"):
        minio.webhook_references(dict(MINIO_BODY, Records=[]))


def test_minio_body_that_is_not_a_webhook_is_an_error():
    with pytest.raises(EventError, match="not a MinIO notification"):
        minio.webhook_references({"Key": "inbox/a.png"})
    with pytest.raises(EventError, match="not a MinIO notification"):
        references(kafka_event({"hello": "world"}))


# --- ocrfn's own request event -------------------------------------------------------------------------

REQUEST_TYPE = "dev.ocrfn.ocr.request"


def request_event(data) -> Event:
    return Event(type=REQUEST_TYPE, source="/batch/replay", id="replay-0001", data=data)


@pytest.mark.parametrize(
    ("data", "ref"),
    [
        ({"url": "s3://acme-receipts/scans/a.png"}, ObjectRef("s3", "acme-receipts", "scans/a.png")),
        ({"url": "gs://acme-scans/inbox/b.jpg"}, ObjectRef("gs", "acme-scans", "inbox/b.jpg")),
        ({"url": "file://local/März/reçu 1.png"}, ObjectRef("file", "local", "März/reçu 1.png")),
        (
            {"url": "s3://acme-receipts/scans/a.png", "version": "v7"},
            ObjectRef("s3", "acme-receipts", "scans/a.png", version="v7"),
        ),
        (
            {"url": "gs://acme-scans/inbox/b.jpg", "version": 1710408413589123},
            ObjectRef("gs", "acme-scans", "inbox/b.jpg", version="1710408413589123"),
        ),
        (
            '{"url": "s3://acme-receipts/scans/a.png", "version": null}',
            ObjectRef("s3", "acme-receipts", "scans/a.png"),
        ),
        (b'{"url": "s3://acme-receipts/scans/a.png"}', ObjectRef("s3", "acme-receipts", "scans/a.png")),
    ],
)
def test_request_event(data, ref):
    assert references(request_event(data)) == [ref]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https:acme-receipts.s3.amazonaws.com"}, "not an object URL"),
        ({"url": "acme-receipts/a.png"}, "not an object URL"),
        ({"url": "s3://bucket"}, "not an object URL"),
        ({"version": "1"}, "no url"),
        ({}, "no url"),
        ({"url": 42}, "url must be a string"),
        ({"url": ["s3://bucket/a.png"]}, "url must be a string"),
        ({"url": "s3://bucket/a.png", "version": {"v": 1}}, "version must be"),
        (None, "no url"),
    ],
)
def test_bad_request_events(data, message):
    with pytest.raises(EventError, match=message) as info:
        references(request_event(data))
    assert type(info.value) is EventError


@pytest.mark.parametrize(
    ("env", "url", "status", "error", "message"),
    [
        ({}, "http://x/a.png", 400, "unsupported_scheme", "http:// objects are not served"),
        ({}, "s3://bucket/../etc/passwd", 400, "invalid_key", "'..' segments"),
        ({}, "s3://bucket/a/../../etc/passwd", 400, "invalid_key", "'..' segments"),
        ({}, "s3:///key.png", 400, "invalid_key", "invalid bucket name"),
        ({}, "s3://bucket/", 400, "invalid_key", "invalid object key"),
        ({}, "s3://bucket//etc/passwd", 400, "invalid_key", "invalid object key"),
        ({}, "s3://a b/r.png", 400, "invalid_key", "invalid bucket name"),
        ({}, "s3://a?b/r.png", 400, "invalid_key", "invalid bucket name"),
        ({}, "s3://bucket/" + "k" * 253 + ".png", 400, "invalid_key", "segment over 255 bytes"),
        ({"OCRFN_STORAGE": "s3"}, "file://local/a.png", 400, "unsupported_scheme", "reads s3://"),
        ({"OCRFN_STORAGE": "s3"}, "gs://acme/a.png", 400, "unsupported_scheme", "gs:// objects"),
        ({"OCRFN_STORAGE": "gs"}, "s3://acme/a.png", 400, "unsupported_scheme", "reads gs://"),
        # fits the store as a source, but its result key would not (".json" makes the segment 256 bytes)
        ({}, "file://local/" + "k" * 247 + ".png", 400, "invalid_key", "segment over 255 bytes"),
    ],
)
def test_objects_no_store_can_serve_are_refused_before_any_work(tmp_path, env, url, status, error, message):
    from function.errors import ServiceError

    settings = load_settings(env)
    storage = Storage(settings.storage, tmp_path, schemes=settings.storage_schemes or ("s3", "gs"))
    ingest = Ingest(settings, storage, unused_ocr, lambda: "m")
    (ref,) = references(request_event({"url": url}))
    with pytest.raises(ServiceError) as info:
        ingest.process(ref)
    assert (info.value.status, info.value.error) == (status, error)
    assert message in info.value.message
    assert str(tmp_path) not in info.value.message


#: An S3 record whose size is the given JSON text (parsed by the adapter, as from a binary-mode body).
SIZED = b'{"s3": {"bucket": {"name": "b"}, "object": {"key": "k.png", "size": %s}}}'


def sized_record(size: float) -> dict:
    """An S3 record already parsed (structured mode: the SDK's own JSON parser takes Infinity)."""
    return {"s3": {"bucket": {"name": "b"}, "object": {"key": "k.png", "size": size}}}


# --- dispatch and malformed data -----------------------------------------------------------------------

HANDLED = (
    GCS_TYPE,
    S3_TYPE,
    "com.amazonaws.s3:ObjectCreated:*",
    "com.amazonaws.ObjectCreated:*",
    "dev.knative.kafka.event",
    REQUEST_TYPE,
)


@pytest.mark.parametrize(
    "type_",
    ["com.example.something", "", "google.cloud.storage.object.v1.deleted", "com.amazonaws.s3:TestEvent"],
)
def test_unknown_types_are_unsupported(type_):
    with pytest.raises(UnsupportedEventError) as info:
        references(Event(type=type_, data=S3_RECORD))
    message = str(info.value)
    assert f"event type {type_!r} is not handled" in message
    for handled in HANDLED:
        assert handled in message


def test_error_hierarchy():
    assert issubclass(UnsupportedEventError, EventError)
    assert not issubclass(IgnoredEvent, EventError)
    assert not issubclass(EventError, IgnoredEvent)


def without(record: dict, *path: str) -> dict:
    record = copy.deepcopy(record)
    target = record
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return record


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (s3_event(without(S3_RECORD, "s3", "object", "key")), "no s3.object.key"),
        (s3_event(without(S3_RECORD, "s3", "bucket", "name")), "no s3.bucket.name"),
        (s3_event(without(S3_RECORD, "s3")), "no s3.bucket.name"),
        (s3_event(s3_record(key=42)), "must be strings"),
        (s3_event(s3_record(size="abc")), "'abc' is not a non-negative integer"),
        (s3_event(s3_record(size=-1)), "'-1' is not a non-negative integer"),
        (s3_event(s3_record(size=1.5)), "'1.5' is not a non-negative integer"),
        (s3_event(s3_record(size=True)), "True is not an integer"),
        (
            s3_event(b'{"s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": Infinity}}}'),
            "not JSON within bounds",
        ),
        (
            ceph_event(
                "com.amazonaws.s3:ObjectCreated:Put",
                dict(S3_RECORD, s3={**S3_RECORD["s3"], "object": {"key": "k", "size": float("inf")}}),
            ),
            "'inf' is not",
        ),
        (
            s3_event(
                b'{"s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": 1' + b"0" * 5000 + b"}}}"
            ),
            "more digits",
        ),
        (s3_event(b"[" * 100 + b"]" * 100), "nested more than 32"),
        (s3_event("not json"), "not JSON"),
        (s3_event(b"{truncated"), "not JSON"),
        (s3_event([S3_RECORD]), "must be a JSON object"),
        (s3_event(None), "must be a JSON object"),
        (ceph_event("com.amazonaws.s3:ObjectCreated:Put", "<xml/>"), "not JSON"),
        (ceph_event("com.amazonaws.s3:ObjectCreated:Put", {"Records": []}), "no s3.bucket.name"),
        (gcs_event(dict(GCS_DATA, size="abc")), "'abc' is not a non-negative integer"),
        (gcs_event(without(GCS_DATA, "name")), "no name"),
        (gcs_event(without(GCS_DATA, "bucket")), "no bucket"),
        (gcs_event(dict(GCS_DATA, name=None)), "must be strings"),
        (gcs_event("not json"), "not JSON"),
        (gcs_event(None), "no bucket"),
        (kafka_event("not json"), "not JSON"),
        (kafka_event({"EventName": "s3:ObjectCreated:Put", "Records": ["x"]}), "must be a JSON object"),
        (request_event("url=s3://bucket/a.png"), "not JSON"),
    ],
)
def test_malformed_data_is_an_event_error(event, message):
    with pytest.raises(EventError, match=message) as info:
        references(event)
    assert type(info.value) is EventError


@pytest.mark.parametrize("event", [kafka_event(b"\xff\xfe{}"), s3_event(b"\x89PNG\r\n\x1a\n")])
def test_non_utf8_bytes_are_an_event_error(event):
    with pytest.raises(EventError, match="not JSON"):
        references(event)


# --- storage key safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a/../b", "..", ".", "a//b", "./a", "a/.", "a/", "a\\b", "..\\a", "a\nb", "a\x00b", "a\tb"],
)
def test_check_key_rejects_escaping_keys(key):
    with pytest.raises(InvalidKeyError) as info:
        check_key(key)
    assert repr(key) in str(info.value)


@pytest.mark.parametrize(
    "key", ["a/b/c.png", "März/reçu 1.png", "a.b/..c/d..png", "scans/March 2024/a+b.png", "x"]
)
def test_check_key_accepts_plain_keys(key):
    assert check_key(key) == key


def test_check_key_rejects_bidi_override():
    # U+202E reverses how the rest of the name is displayed ("gnp.exe" shown as "exe.png").
    with pytest.raises(InvalidKeyError):
        check_key("invoice\u202egnp.exe")


@pytest.mark.parametrize("key", ["اسکن/می\u200cخواهم.png", "スキャン\u30001.png", "scan\u00a01.png"])
def test_check_key_accepts_names_with_format_characters_and_unicode_spaces(key):
    assert check_key(key) == key


@pytest.mark.parametrize("scheme", ["s3", "gs", "file"])
@pytest.mark.parametrize("bucket", ["", ".", "..", "a/b", "a\\b", "a\nb", "a b", "a<b", "a`b", "a?b", "a#b"])
def test_check_bucket_rejects_names_no_provider_allows(scheme, bucket):
    if scheme == "file" and bucket in ("a b", "a<b", "a`b", "a?b", "a#b"):
        return  # a local directory may have such a name
    with pytest.raises(InvalidKeyError, match="invalid bucket name"):
        check_bucket(scheme, bucket)


@pytest.mark.parametrize(
    ("scheme", "bucket"),
    [
        ("s3", "ab"),  # too short
        ("s3", "x" * 256),  # too long even for legacy names
        ("s3", "-abc"),
        ("s3", "abc-"),
        ("s3", "a..b"),
        ("s3", "192.168.1.10"),
        ("gs", "Acme"),  # no capitals in GCS
        ("gs", "goog-scans"),
        ("gs", "x" * 64),
        ("gs", "a" * 64 + ".b"),  # a dot-separated part over 63
        ("file", "x" * 256),
    ],
)
def test_check_bucket_applies_each_providers_rules(scheme, bucket):
    with pytest.raises(InvalidKeyError, match=f"for {scheme}://"):
        check_bucket(scheme, bucket)


@pytest.mark.parametrize(
    ("scheme", "bucket"),
    [
        ("s3", "acme-receipts"),
        ("s3", "my.bucket.example.com"),
        ("s3", "Legacy_Bucket_2017"),  # AWS us-east-1 before 2018, Ceph relaxed names
        ("s3", "x" * 255),
        ("gs", "acme_scans-2024"),
        ("gs", "a" * 63 + ".example.com"),
        ("file", "b"),
        ("file", "März scans"),
    ],
)
def test_check_bucket_accepts(scheme, bucket):
    assert check_bucket(scheme, bucket) == bucket


def test_keys_must_fit_the_store():
    assert check_key("é" * 512) == "é" * 512  # 1024 bytes of UTF-8
    with pytest.raises(InvalidKeyError, match="1025 bytes"):
        check_key("é" * 512 + "x")
    assert check_key("a" * 300 + ".png") == "a" * 300 + ".png"  # fine for S3 and GCS
    with pytest.raises(InvalidKeyError, match="segment over 255 bytes"):
        check_key("a" * 300 + ".png", local=True)  # never a file name


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("s3://b/k/x.png", ("s3", "b", "k/x.png")),
        ("gs://acme-scans/inbox/receipt-0042.jpg", ("gs", "acme-scans", "inbox/receipt-0042.jpg")),
        ("file://local/März/reçu 1.png", ("file", "local", "März/reçu 1.png")),
        ("az://b/k.png", ("az", "b", "k.png")),  # the storage layer refuses the scheme, not the parser
        ("s3://a b/r.png", ("s3", "a b", "r.png")),  # likewise the bucket name
    ],
)
def test_split_url(url, parts):
    assert split_url(url) == parts


@pytest.mark.parametrize("url", ["b/k.png", "s3:/b/k.png", "s3://b", "://b/k.png", ""])
def test_split_url_rejects_what_is_not_an_object_url(url):
    with pytest.raises(EventError, match="not an object URL"):
        split_url(url)


# --- what ingestion skips --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "content_type", "reason"),
    [
        ("x.json", None, "extension .json"),
        ("x.txt", None, "extension .txt"),
        ("ocr-results/a.png.json", "application/json", "content type application/json"),
        ("x", "text/plain", "content type text/plain"),
        ("x", "Text/Plain; charset=utf-8", "content type text/plain"),
        ("x.tar.gz", "application/octet-stream", "extension .gz"),
    ],
)
def test_not_an_image(key, content_type, reason):
    assert not_an_image(key, content_type) == reason


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("x.png", None),
        ("x.JPG", None),
        ("x.tiff", None),
        ("scans/page.jpeg", ""),
        ("x", None),
        ("dir.v2/scan", None),
        ("x", "image/webp"),
        ("x", "IMAGE/PNG; charset=binary"),
        ("x.png", "application/octet-stream"),
        ("x", "binary/octet-stream"),
        ("doc.pdf", "application/pdf"),  # documents are read page by page
        ("x.PDF", None),
    ],
)
def test_images_and_unknowns_are_not_skipped(key, content_type):
    assert not_an_image(key, content_type) is None


def unused_ocr(image: bytes, options, request_id: str):
    raise AssertionError("no OCR expected")


@pytest.mark.parametrize(
    ("env", "ref", "is_result", "location"),
    [
        (
            {},
            ObjectRef("s3", "acme-receipts", "scans/a.png"),
            False,
            ("s3", "acme-receipts", "ocr-results/scans/a.png.json"),
        ),
        (
            {},
            ObjectRef("s3", "acme-receipts", "ocr-results/scans/a.png.json"),
            True,
            ("s3", "acme-receipts", "ocr-results/ocr-results/scans/a.png.json.json"),
        ),
        (
            {"OCRFN_RESULT_BUCKET": "results", "OCRFN_RESULT_PREFIX": "text"},
            ObjectRef("gs", "acme-scans", "text/a.png"),
            False,
            ("gs", "results", "text/acme-scans/text/a.png.json"),  # the source bucket is part of the key
        ),
        (
            {"OCRFN_RESULT_BUCKET": "results", "OCRFN_RESULT_PREFIX": "text"},
            ObjectRef("gs", "results", "text/a.png.json"),
            True,
            ("gs", "results", "text/results/text/a.png.json.json"),
        ),
    ],
)
def test_result_location_and_loop_guard(tmp_path, env, ref, is_result, location):
    settings = load_settings(env)
    ingest = Ingest(settings, Storage("file", tmp_path), unused_ocr, lambda: "m")
    assert ingest.is_result(ref) is is_result
    assert ingest.result_location(ref) == location


@pytest.mark.parametrize(
    ("key", "content_type"),
    [("x.bin", "image/png"), ("Invoice No. 42", None), ("photo", "application/octet-stream")],
)
def test_explicit_image_types_and_non_extensions_are_not_skipped(key, content_type):
    assert not_an_image(key, content_type) is None


@pytest.mark.parametrize(
    ("obj", "kind", "version"),
    [
        ({"key": "a.png", "versionId": "v1", "eTag": "e1", "sequencer": "s1"}, "versionId", "v1"),
        ({"key": "a.png", "eTag": '"e1"', "sequencer": "s1"}, "eTag", "e1"),
        ({"key": "a.png", "sequencer": "s1"}, "sequencer", "s1"),
        ({"key": "a.png"}, None, None),
    ],
)
def test_s3_record_says_what_its_version_is(obj, kind, version):
    from function.events.s3_record import record_reference

    ref = record_reference({"s3": {"bucket": {"name": "b"}, "object": obj}})
    assert (ref.version_kind, ref.version) == (kind, version)


def test_gcs_and_request_versions_are_labelled():
    gcs = references(
        Event(
            "google.cloud.storage.object.v1.finalized",
            data={"bucket": "b", "name": "n.png", "generation": "7"},
        )
    )
    assert (gcs[0].version_kind, gcs[0].version) == ("generation", "7")
    req = references(Event("dev.ocrfn.ocr.request", data={"url": "s3://b/k.png", "version": "mine"}))
    assert (req[0].version_kind, req[0].version) == ("given", "mine")
