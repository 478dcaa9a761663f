"""The Knative manifests in knative/: valid objects, consistent with each other, with the function's routes,
settings and event types, and with the `kn service create` command in knative/README.md.

No cluster and no network: the YAML is parsed and checked against the rules Knative enforces (reserved ports
and variables, where autoscaling annotations go) and against the function's own code.
"""

from __future__ import annotations

import inspect
import re
import shlex
import threading
from pathlib import Path
from typing import Any

import flask
import pytest
import yaml
from conftest import ROOT

KNATIVE = ROOT / "knative"
YAML_FILES = sorted(p for p in KNATIVE.rglob("*") if p.suffix in (".yaml", ".yml"))
README = KNATIVE / "README.md"

RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}  # queue-proxy and friends
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
AUTOSCALING = "autoscaling.knative.dev/"
KPA = "kpa.autoscaling.knative.dev"
FILTER_DIALECTS = {"exact", "prefix", "suffix", "all", "any", "not", "cesql"}
TRIGGER_SPEC_KEYS = {"broker", "filters", "subscriber", "delivery"}
DELIVERY_KEYS = {"retry", "backoffPolicy", "backoffDelay", "deadLetterSink", "timeout"}


def documents(path: Path) -> list[Any]:
    return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def all_objects() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in YAML_FILES for doc in documents(path) if doc is not None]


def objects_of(kind: str, api_group: str) -> list[dict]:
    return [
        doc
        for _, doc in all_objects()
        if doc.get("kind") == kind and str(doc.get("apiVersion", "")).startswith(api_group + "/")
    ]


@pytest.fixture(scope="module")
def service() -> dict:
    docs = [d for d in documents(KNATIVE / "service.yaml") if d is not None]
    assert len(docs) == 1, "knative/service.yaml holds exactly the ocrfn Service"
    (svc,) = docs
    assert (svc["apiVersion"], svc["kind"]) == ("serving.knative.dev/v1", "Service")
    assert svc["metadata"]["name"] == "ocrfn"
    return svc


@pytest.fixture(scope="module")
def container(service) -> dict:
    containers = service["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container: the function"
    return containers[0]


@pytest.fixture(scope="module")
def service_env(container) -> dict[str, str]:
    env = container.get("env", [])
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), f"duplicate env names: {names}"
    for entry in env:
        assert set(entry) == {"name", "value"}, f"env {entry['name']}: plain values only"
        assert isinstance(entry["value"], str), f"env {entry['name']}: quote the value (strings only)"
    return {e["name"]: e["value"] for e in env}


@pytest.fixture(scope="module")
def triggers() -> list[dict]:
    found = objects_of("Trigger", "eventing.knative.dev")
    assert found, "knative/ defines Triggers"
    return found


# ---------------------------------------------------------------------------------------------------------
# Every manifest
# ---------------------------------------------------------------------------------------------------------
def test_the_expected_manifests_exist():
    names = {p.relative_to(KNATIVE).as_posix() for p in YAML_FILES}
    for required in ("service.yaml", "broker.yaml", "triggers.yaml", "dead-letters.yaml"):
        assert required in names
    assert any(n.startswith("sources/") for n in names), "example event sources live in knative/sources/"


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(KNATIVE).as_posix())
def test_every_yaml_file_holds_kubernetes_objects(path):
    docs = documents(path)
    objects = [d for d in docs if d is not None]
    # kubectl apply -f on a file or directory fails on a file with no objects (e.g. comments only).
    assert objects, f"{path.name}: no objects"
    assert len(objects) == len(docs), f"{path.name}: empty YAML document (stray '---')"
    for doc in objects:
        assert isinstance(doc, dict)
        assert isinstance(doc.get("apiVersion"), str) and doc["apiVersion"], f"{path.name}: apiVersion"
        assert isinstance(doc.get("kind"), str) and doc["kind"], f"{path.name}: kind"
        name = doc.get("metadata", {}).get("name")
        assert isinstance(name, str) and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
        for key, value in doc.get("metadata", {}).get("annotations", {}).items():
            assert isinstance(value, str), f"{path.name}: annotation {key} must be a string (quote it)"


def test_object_names_are_unique_per_kind():
    seen: dict[tuple[str, str], Path] = {}
    for path, doc in all_objects():
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in seen, f"{key} in both {seen.get(key)} and {path}"
        seen[key] = path


# ---------------------------------------------------------------------------------------------------------
# The Service
# ---------------------------------------------------------------------------------------------------------
def test_service_has_one_unreserved_port(container):
    ports = container.get("ports", [])
    assert len(ports) == 1, "Knative allows exactly one container port"
    (port,) = ports
    assert port["containerPort"] not in RESERVED_PORTS
    assert port.get("name", "http1") in ("http1", "h2c")


def test_service_sets_no_reserved_environment(container):
    for entry in container.get("env", []):
        assert entry["name"] not in RESERVED_ENV and not entry["name"].startswith("K_"), entry["name"]


def test_autoscaling_annotations_are_on_the_revision_template(service):
    assert not any(k.startswith(AUTOSCALING) for k in service["metadata"].get("annotations", {})), (
        "autoscaling annotations on the Service's metadata are ignored: put them on spec.template.metadata"
    )
    notes = service["spec"]["template"]["metadata"]["annotations"]
    spec = service["spec"]["template"]["spec"]
    assert notes[AUTOSCALING + "class"] == KPA, "only the KPA class scales to zero"
    assert notes[AUTOSCALING + "metric"] == "concurrency"
    assert notes[AUTOSCALING + "min-scale"] == "0", "scale to zero"
    target = float(notes[AUTOSCALING + "target"])
    concurrency = spec["containerConcurrency"]
    assert isinstance(concurrency, int) and concurrency > 0, "a hard per-pod limit for CPU-bound work"
    assert 0 < target <= concurrency, "the soft target must not exceed containerConcurrency"
    assert 0 < int(notes[AUTOSCALING + "target-utilization-percentage"]) <= 100
    assert int(notes[AUTOSCALING + "max-scale"]) >= 1
    assert re.fullmatch(r"\d+[smh]", notes[AUTOSCALING + "scale-to-zero-pod-retention-period"])
    assert re.fullmatch(r"\d+s", notes["serving.knative.dev/progress-deadline"])


def test_resources_are_guaranteed(container):
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert resources["requests"] == resources["limits"], "requests == limits"


def test_timeouts_are_set(service):
    spec = service["spec"]["template"]["spec"]
    for field in ("timeoutSeconds", "responseStartTimeoutSeconds"):
        assert isinstance(spec.get(field), int) and 0 < spec[field] <= 600, field
    assert spec["responseStartTimeoutSeconds"] <= spec["timeoutSeconds"]


def test_time_budgets_fit_in_the_request_timeout(service, service_env):
    """A request stopped by ocrfn's own budget gets a clear 422; Knative's timeout would cut it off blind."""
    from function.settings import load_settings

    settings = load_settings(service_env)
    spec = service["spec"]["template"]["spec"]
    queued = spec["containerConcurrency"]  # one runs while the others wait in the pod
    assert settings.document_time_budget * queued < spec["timeoutSeconds"]
    assert settings.time_budget * queued < spec["timeoutSeconds"]


def test_probes(container):
    assert "livenessProbe" not in container, "no liveness probe (see the comment in service.yaml)"
    probe = container["readinessProbe"]
    get = probe["httpGet"]
    assert get.get("port", container["ports"][0]["containerPort"]) == container["ports"][0]["containerPort"]
    assert "periodSeconds" not in probe, "periodSeconds would turn off Knative's aggressive startup probing"


def test_readiness_path_is_a_cheap_get_route_of_the_function(container):
    from function.api import app as api

    path = container["readinessProbe"]["httpGet"]["path"]
    assert path in api._ALLOWED and "GET" in api._ALLOWED[path]
    assert path in api._QUIET, "successful probes are not logged"


def test_readiness_path_answers_503_while_loading_then_200(container, tmp_path):
    import numpy as np

    from function.admission import Admission
    from function.api.app import OcrApp
    from function.lifecycle import Lifecycle
    from function.metrics import Metrics
    from function.ocr.decoders import InProcessDecoder
    from function.settings import load_settings
    from function.storage import Storage

    class StubEngine:
        max_pixels = 40_000_000
        decoder = InProcessDecoder()

        class models:
            name = "stub"

        def run(self, image, options=None):
            assert isinstance(image, np.ndarray)  # the warm-up

    release = threading.Event()

    def build(_settings):
        release.wait(10)
        return StubEngine()

    settings = load_settings({"OCRFN_THREADS": "1"})
    lifecycle = Lifecycle(settings, build=build)
    app = OcrApp(settings, lifecycle, Metrics(), Admission(1, 1), Storage("file", tmp_path))
    web = flask.Flask("probe")
    web.add_url_rule("/<path:path>", "all", lambda path: app.handle(flask.request), methods=["GET"])
    client = web.test_client()
    path = container["readinessProbe"]["httpGet"]["path"]
    try:
        assert client.get(path).status_code == 503
    finally:
        release.set()
    assert lifecycle.wait_ready(10)
    assert client.get(path).status_code == 200


def test_service_environment_is_valid_function_settings(service, container, service_env):
    from function import settings as settings_module

    source = inspect.getsource(settings_module)
    for name in service_env:
        if name.startswith("OCRFN_"):
            assert f'"{name}"' in source, f"{name} is not a setting the function reads"
    settings = settings_module.load_settings(service_env)  # every value parses
    spec = service["spec"]["template"]["spec"]
    assert spec["containerConcurrency"] <= settings.concurrency + settings.max_queue, (
        "requests the queue-proxy lets in must not get 429 from the function"
    )
    assert settings.probe_threads >= 2, "THREADS leaves request threads free for /ready"
    assert settings.threads == int(str(container["resources"]["limits"]["cpu"])), "threads = CPU limit"
    assert settings.storage == "cloud"
    secret_refs = [e["secretRef"] for e in container.get("envFrom", []) if "secretRef" in e]
    assert {"name": "ocrfn-storage", "optional": True} in secret_refs


# ---------------------------------------------------------------------------------------------------------
# Broker, Triggers, dead letters
# ---------------------------------------------------------------------------------------------------------
def passes(expression: dict, event: dict[str, str]) -> bool:
    """Evaluate one Knative `filters` expression against CloudEvent attributes (Knative's semantics)."""
    assert len(expression) == 1, f"one dialect per filter expression: {expression}"
    ((dialect, value),) = expression.items()
    if dialect in ("exact", "prefix", "suffix"):
        assert isinstance(value, dict) and value, expression
        results = []
        for attribute, wanted in value.items():
            assert attribute and isinstance(wanted, str) and wanted, expression
            got = event.get(attribute)
            if dialect == "exact":
                results.append(got == wanted)
            elif dialect == "prefix":
                results.append(got is not None and got.startswith(wanted))
            else:
                results.append(got is not None and got.endswith(wanted))
        return all(results)
    if dialect in ("all", "any"):
        assert isinstance(value, list) and value, expression
        combine = all if dialect == "all" else any
        return combine(passes(e, event) for e in value)
    if dialect == "not":
        return not passes(value, event)
    raise AssertionError(f"dialect {dialect!r} is not evaluated by this test: {expression}")


def event(type_: str, subject: str | None = None) -> dict[str, str]:
    attributes = {"specversion": "1.0", "id": "1", "source": "test", "type": type_}
    return attributes if subject is None else {**attributes, "subject": subject}


def routed(triggers: list[dict], event: dict[str, str]) -> list[str]:
    return [t["metadata"]["name"] for t in triggers if all(passes(e, event) for e in t["spec"]["filters"])]


def test_triggers_route_to_the_service_with_new_filters(triggers, service):
    brokers = {b["metadata"]["name"] for b in objects_of("Broker", "eventing.knative.dev")}
    for trigger in triggers:
        name, spec = trigger["metadata"]["name"], trigger["spec"]
        assert set(spec) <= TRIGGER_SPEC_KEYS, f"{name}: unknown keys {set(spec) - TRIGGER_SPEC_KEYS}"
        assert spec["broker"] in brokers, f"{name}: broker {spec['broker']} is not defined in knative/"
        assert "filter" not in spec, f"{name}: use `filters`, not the legacy `filter.attributes`"
        assert spec["filters"], f"{name}: filters"
        for expression in spec["filters"]:
            assert set(expression) <= FILTER_DIALECTS, expression
        ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": service["metadata"]["name"]}
        assert spec["subscriber"] == {"ref": ref}, name


def test_trigger_delivery_retries_then_dead_letters(triggers):
    services = {s["metadata"]["name"] for s in objects_of("Service", "serving.knative.dev")}
    for trigger in triggers:
        name, delivery = trigger["metadata"]["name"], trigger["spec"]["delivery"]
        assert set(delivery) <= DELIVERY_KEYS, f"{name}: unknown keys {set(delivery) - DELIVERY_KEYS}"
        assert isinstance(delivery["retry"], int) and delivery["retry"] >= 1, name
        assert delivery["backoffPolicy"] == "exponential", name
        assert re.fullmatch(r"PT\d+(\.\d+)?S", delivery["backoffDelay"]), name
        ref = delivery["deadLetterSink"]["ref"]
        assert (ref["apiVersion"], ref["kind"]) == ("serving.knative.dev/v1", "Service"), name
        assert ref["name"] in services, f"{name}: dead-letter sink {ref['name']} is not defined in knative/"


def handled_events() -> list[tuple[str, str]]:
    """(adapter, concrete event type) for every type the function handles; `*` stands for any suffix."""
    from function.events import ADAPTERS

    events = []
    for adapter in ADAPTERS:
        for type_ in adapter.TYPES:
            concrete = type_[:-1] + "Put" if type_.endswith("*") else type_
            assert adapter.handles(concrete), concrete
            events.append((adapter.__name__.rsplit(".", 1)[-1], concrete))
    return events


#: Where the object key sits in `subject`, for the sources that put it there.
KEY_SUBJECT_PREFIX = {"gcs": "objects/", "s3": "", "ceph": ""}


@pytest.mark.parametrize(("adapter", "event_type"), handled_events())
def test_every_handled_event_type_is_routed(triggers, adapter, event_type):
    subject = KEY_SUBJECT_PREFIX.get(adapter, "") + "photos/receipt.png"
    assert routed(triggers, event(event_type, subject)), f"no Trigger routes {event_type}"
    assert routed(triggers, event(event_type)), f"no Trigger routes {event_type} without a subject"


@pytest.mark.parametrize("adapter", sorted(KEY_SUBJECT_PREFIX))
def test_results_written_by_the_function_are_not_routed_back(triggers, service_env, adapter):
    from function.settings import load_settings

    prefix = load_settings(service_env).result_prefix
    for name, event_type in handled_events():
        if name == adapter:
            subject = f"{KEY_SUBJECT_PREFIX[adapter]}{prefix}photos/receipt.png.json"
            assert not routed(triggers, event(event_type, subject)), f"{event_type} for a result object"


def test_every_trigger_routes_some_handled_event_and_no_ignored_ones(triggers):
    from function.events import s3

    used = set()
    for _, event_type in handled_events():
        used.update(routed(triggers, event(event_type)))
    assert used == {t["metadata"]["name"] for t in triggers}, "a Trigger that matches no handled event type"
    removals = ("com.amazonaws.s3:ObjectRemoved:Delete", "com.amazonaws.ObjectRemoved:Delete")
    for ignored in (*s3.IGNORED, *removals):
        assert not routed(triggers, event(ignored)), ignored


# ---------------------------------------------------------------------------------------------------------
# knative/README.md's `kn service create` == knative/service.yaml
# ---------------------------------------------------------------------------------------------------------
SCALE_FLAGS = {
    "scale-min": AUTOSCALING + "min-scale",
    "scale-max": AUTOSCALING + "max-scale",
    "scale-target": AUTOSCALING + "target",
    "scale-utilization": AUTOSCALING + "target-utilization-percentage",
    "scale-metric": AUTOSCALING + "metric",
    "scale-init": AUTOSCALING + "initial-scale",
    "scale-window": AUTOSCALING + "window",
    "scale-activation": AUTOSCALING + "activation-scale",
}
REPEATABLE = {"annotation-revision", "env", "env-from", "request", "limit"}
SINGLE = {
    "image",
    "port",
    "concurrency-limit",
    "timeout",
    "probe-readiness",
    "probe-readiness-opts",
    "security-context",
    *SCALE_FLAGS,
}
REMOVED_OR_DEPRECATED = {
    "min-scale",
    "max-scale",
    "concurrency-target",
    "concurrency-utilization",
    "autoscale-window",
    "requests-cpu",
    "requests-memory",
    "limits-cpu",
    "limits-memory",
}
#: kn's --security-context strict (knative/client, DefaultStrictSecCon).
KN_STRICT = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
PROBE_OPTS = {
    "initialdelayseconds": "initialDelaySeconds",
    "timeoutseconds": "timeoutSeconds",
    "periodseconds": "periodSeconds",
    "successthreshold": "successThreshold",
    "failurethreshold": "failureThreshold",
}
#: Fields of service.yaml that kn cannot set (documented in knative/README.md).
YAML_ONLY = {"responseStartTimeoutSeconds"}
#: securityContext fields kn cannot set (its --security-context strict does not include them).
YAML_ONLY_SECURITY = {"readOnlyRootFilesystem"}


def kn_command(readme: str) -> list[str]:
    """The tokens of the one `kn service create ocrfn` command in a fenced code block of the README."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", readme, re.M | re.S)
    blocks = [b for b in fenced if "kn service create" in b]
    assert len(blocks) == 1, "exactly one code block with `kn service create`"
    joined = re.sub(r"\\\n", " ", blocks[0])
    commands = [line.strip() for line in joined.splitlines() if line.strip().startswith("kn service create")]
    assert len(commands) == 1, commands
    return shlex.split(commands[0], comments=True)


def parse_kn(tokens: list[str]) -> tuple[str, dict[str, Any]]:
    """Service name and flags (repeatable flags as lists) of `kn service create NAME --flag value ...`."""
    assert tokens[:3] == ["kn", "service", "create"], tokens[:3]
    name, rest = tokens[3], tokens[4:]
    flags: dict[str, Any] = {}
    i = 0
    while i < len(rest):
        token = rest[i]
        assert token.startswith("--"), f"unexpected argument {token!r}"
        flag, eq, value = token[2:].partition("=")
        if not eq:
            i += 1
            assert i < len(rest), f"--{flag} needs a value"
            value = rest[i]
        assert flag not in REMOVED_OR_DEPRECATED, f"--{flag} is removed or deprecated in kn 1.23"
        if flag in REPEATABLE:
            flags.setdefault(flag, []).append(value)
        else:
            assert flag in SINGLE, f"--{flag} is not compared with service.yaml by this test"
            assert flag not in flags, f"--{flag} given twice"
            flags[flag] = value
        i += 1
    return name, flags


def key_values(items: list[str], sep: str = ",") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        for pair in item.split(sep):
            key, eq, value = pair.partition("=")
            assert eq and key, f"expected key=value, got {pair!r}"
            out[key] = value
    return out


def kn_model(tokens: list[str]) -> dict[str, Any]:
    """What `kn service create` writes into the Service, in the shape of :func:`yaml_model`."""
    name, flags = parse_kn(tokens)
    annotations = {}
    for item in flags.get("annotation-revision", []):
        key, eq, value = item.partition("=")
        assert eq, item
        annotations[key] = value
    for flag, annotation in SCALE_FLAGS.items():
        if flag in flags:
            assert annotation not in annotations, f"--{flag} and --annotation-revision {annotation}"
            annotations[annotation] = flags[flag]
    port = None
    if "port" in flags:
        port_name, _, number = flags["port"].rpartition(":")
        port = {"name": port_name} if port_name else {}
        port["containerPort"] = int(number)
    env = []
    for item in flags.get("env", []):
        key, eq, value = item.partition("=")
        assert eq, item
        env.append({"name": key, "value": value})
    env_from = []
    for item in flags.get("env-from", []):
        kind, _, ref = item.partition(":")
        assert kind == "secret", f"--env-from {item}: only secrets are compared"
        env_from.append(ref)
    probe = None
    if "probe-readiness" in flags:
        parts = flags["probe-readiness"].split(":")
        assert parts[0] in ("http", "https") and len(parts) == 4, "format http:HOST:PORT:PATH"
        get: dict[str, Any] = {"path": parts[3]}
        if parts[1]:
            get["host"] = parts[1]
        if parts[2]:
            get["port"] = int(parts[2]) if parts[2].isdigit() else parts[2]
        if parts[0] == "https":
            get["scheme"] = "HTTPS"
        probe = {"httpGet": get}
        if "probe-readiness-opts" in flags:
            for key, value in key_values([flags["probe-readiness-opts"]]).items():
                probe[PROBE_OPTS[key.strip().lower()]] = int(value)
    context = {"strict": KN_STRICT, "none": None}[flags.get("security-context", "none").lower()]
    return {
        "name": name,
        "annotations": annotations,
        "containerConcurrency": int(flags["concurrency-limit"]) if "concurrency-limit" in flags else None,
        "timeoutSeconds": int(flags["timeout"]) if "timeout" in flags else None,
        "image": flags.get("image"),
        "ports": [port] if port else None,
        "requests": key_values(flags.get("request", [])) or None,
        "limits": key_values(flags.get("limit", [])) or None,
        "env": env or None,
        "envFrom": env_from or None,
        "readinessProbe": probe,
        "securityContext": context,
    }


def yaml_model(service: dict) -> dict[str, Any]:
    """The fields of service.yaml that kn can set; any other field makes this fail (kn could not match it)."""
    metadata, template = service["metadata"], service["spec"]["template"]
    assert set(metadata) == {"name"}, f"Service metadata kn does not set: {set(metadata) - {'name'}}"
    assert set(service["spec"]) == {"template"}, set(service["spec"])
    assert set(template) <= {"metadata", "spec"} and set(template.get("metadata", {})) <= {"annotations"}
    spec = template["spec"]
    compared_spec = {"containerConcurrency", "timeoutSeconds", "containers"}
    extra = set(spec) - compared_spec - YAML_ONLY
    assert not extra, f"revision fields kn cannot set: {extra}"
    (container,) = spec["containers"]
    compared = {"image", "ports", "resources", "env", "envFrom", "readinessProbe", "securityContext"}
    assert set(container) <= compared, f"container fields kn cannot set: {set(container) - compared}"
    assert set(container.get("resources", {})) <= {"requests", "limits"}
    env_from = []
    for source in container.get("envFrom", []):
        assert set(source) == {"secretRef"} and set(source["secretRef"]) <= {"name", "optional"}, source
        env_from.append(source["secretRef"]["name"])  # `optional` has no kn equivalent (README says so)
    resources = container.get("resources", {})
    return {
        "name": metadata["name"],
        "annotations": {k: str(v) for k, v in template.get("metadata", {}).get("annotations", {}).items()},
        "containerConcurrency": spec.get("containerConcurrency"),
        "timeoutSeconds": spec.get("timeoutSeconds"),
        "image": container.get("image"),
        "ports": container.get("ports"),
        "requests": {k: str(v) for k, v in resources.get("requests", {}).items()} or None,
        "limits": {k: str(v) for k, v in resources.get("limits", {}).items()} or None,
        "env": container.get("env"),
        "envFrom": env_from or None,
        "readinessProbe": container.get("readinessProbe"),
        "securityContext": {
            k: v for k, v in (container.get("securityContext") or {}).items() if k not in YAML_ONLY_SECURITY
        }
        or None,
    }


@pytest.fixture(scope="module")
def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def test_kn_command_sets_exactly_what_service_yaml_sets(readme_text, service):
    from_kn, from_yaml = kn_model(kn_command(readme_text)), yaml_model(service)
    for field, value in from_yaml.items():
        assert from_kn[field] == value, f"{field}: kn sets {from_kn[field]!r}, service.yaml {value!r}"
    assert from_kn == from_yaml


def test_readme_says_what_kn_cannot_set(readme_text, service):
    spec = service["spec"]["template"]["spec"]
    for field in YAML_ONLY & set(spec):
        assert field in readme_text, f"knative/README.md must say that {field} is YAML only"
    for field in YAML_ONLY_SECURITY & set(spec["containers"][0].get("securityContext", {})):
        assert field in readme_text, f"knative/README.md must say that {field} is YAML only"
    if any(s.get("secretRef", {}).get("optional") for s in spec["containers"][0].get("envFrom", [])):
        assert "optional" in readme_text


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("--scale-target 1", "--scale-target 2"),
        ("--scale-max 10", "--scale-max 11"),
        ("--concurrency-limit 2", "--concurrency-limit 3"),
        ("--timeout 300", "--timeout 301"),
        ("memory=1280Mi \\\n  --env", "memory=1281Mi \\\n  --env"),
        ("--env THREADS=8", "--env THREADS=9"),
        ("--env MALLOC_ARENA_MAX=2 \\\n", ""),
        ("http::8080:/ready", "http::8080:/health"),
        ("secret:ocrfn-storage", "secret:other"),
        ("retention-period=30s", "retention-period=31s"),
        ("--security-context strict", "--security-context none"),
        ("--image ghcr.io/ocrfn/ocrfn:0.1.0", "--image ghcr.io/ocrfn/ocrfn:0.2.0"),
    ],
)
def test_kn_comparison_detects_a_mismatch(readme_text, service, old, new):
    assert old in readme_text, old
    assert kn_model(kn_command(readme_text.replace(old, new, 1))) != yaml_model(service)


@pytest.mark.parametrize("flag", ["--min-scale 0", "--concurrency-target 1", "--cpu 2"])
def test_kn_parser_refuses_flags_it_does_not_compare(readme_text, flag):
    broken = readme_text.replace("--scale-min 0", flag, 1)
    with pytest.raises(AssertionError):
        kn_model(kn_command(broken))


def test_root_filesystem_is_read_only(service):
    (container,) = service["spec"]["template"]["spec"]["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True


STRICT_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
    "readOnlyRootFilesystem": True,
}


@pytest.mark.parametrize("manifest", ["service.yaml", "dead-letters.yaml"])
def test_every_container_runs_with_the_strict_security_context(manifest):
    for document in documents(KNATIVE / manifest):
        for container in document["spec"]["template"]["spec"]["containers"]:
            assert container["securityContext"] == STRICT_CONTEXT, (manifest, container.get("image"))
