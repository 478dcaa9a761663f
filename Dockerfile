# ocrfn: the OCR function as a container for Knative (or any container runtime).
#   docker build -t ocrfn . && docker run --rm -p 8080:8080 ocrfn
# The runtime stage holds the locked runtime dependencies (requirements.txt: every distribution with its
# hashes; pip installs exactly that or fails), the function and the committed models, all compiled to
# bytecode at build time, the standard library included (the official image ships it without .pyc
# files); it runs as a non-root user and needs no writable filesystem: uploads are parsed in memory and
# gunicorn's worker heartbeat file goes to /dev/shm, so the root filesystem can be read-only
# (knative/service.yaml sets readOnlyRootFilesystem). Only the local-bucket mode (OCRFN_STORAGE=file,
# for trying it out) writes, under /tmp/buckets.
#
# BASE is the Python 3.11 image both stages start from. Behind a proxy that re-signs TLS, build a base
# that trusts its CA (see README, "Deploy") and pass it: docker build --build-arg BASE=my/python:3.11 .
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS builder
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-compile --require-hashes \
       -r requirements.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib/python3.11/site-packages

FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    THREADS=8 \
    MALLOC_ARENA_MAX=2 \
    TMPDIR=/dev/shm \
    OCRFN_FILE_ROOT=/tmp/buckets
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ocrfn \
    && python -c "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_path('stdlib'), quiet=1, workers=0, invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH)"
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY model/manifest.json model/manifest.json
COPY model/ppocrv6-small model/ppocrv6-small
COPY model/ppocrv6-tiny model/ppocrv6-tiny
COPY model/page model/page
COPY function function
RUN python -m compileall -q --invalidation-mode unchecked-hash function
USER 10001
EXPOSE 8080
CMD ["python", "-m", "function.server"]
