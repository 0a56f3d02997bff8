# cloudtasks-emu as a container: `docker build -t cloudtasks-emu .`, `docker run -p 127.0.0.1:8123:8123 cloudtasks-emu`.
# BASE is any Debian-like image with python3 (>= 3.11) and its venv module; both stages use it, so the
# venv's interpreter link stays valid. The final stage gets the built venv only: no compilers, no pip.
ARG BASE=python:3.11-slim

FROM ${BASE} AS builder
# EXTRAS=[postgres] adds psycopg for --database (compose.postgres.yaml); the default image goes without.
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
COPY pyproject.toml README.md LICENSE /src/
COPY cloudtasks_emu /src/cloudtasks_emu
RUN /opt/venv/bin/pip install --quiet "/src${EXTRAS}" \
 && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools \
 && find /opt/venv -name '*.dist-info' -prune -o -name tests -type d -path '*/site-packages/*' -prune -exec rm -rf {} +

FROM ${BASE}
# A fixed uid, so a bind-mounted /data can be chowned to it from the host.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin emu \
 && mkdir -p /data && chown emu /data
COPY --from=builder /opt/venv /opt/venv
# Every flag has a CLOUDTASKS_EMU_* variable; inside a container loopback is unreachable from outside,
# so bind every address. Bound so, the Host check answers IP literals, single-label names (compose
# services) and the container's hostname, and refuses other dotted names (DNS rebinding) unless
# CLOUDTASKS_EMU_ALLOWED_HOST names them. State lives in SQLite in the /data volume, so it survives a restart.
# CLOUDTASKS_EMU_APP_ENGINE_URL says where App Engine tasks go.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLOUDTASKS_EMU_HOST=0.0.0.0 \
    CLOUDTASKS_EMU_PORT=8123 \
    CLOUDTASKS_EMU_HTTP_PORT=8124 \
    CLOUDTASKS_EMU_READY_FILE=/tmp/cloudtasks-emu.ready.json \
    CLOUDTASKS_EMU_DATA_DIR=/data
USER emu
WORKDIR /data
VOLUME /data
EXPOSE 8123 8124
# No curl in the image: the CLI asks /healthz itself, at the port named in the ready file.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["cloudtasks-emu", "healthcheck"]
# The emulator is PID 1 and handles SIGTERM itself (graceful stop, exit code 0).
ENTRYPOINT ["cloudtasks-emu"]
CMD ["start"]
