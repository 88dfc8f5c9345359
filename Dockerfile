# syntax=docker/dockerfile:1
# Two stages: the build stage installs the locked dependencies (every wheel checked against its
# hash) into a virtual environment; the runtime stage gets that environment and the code, runs as
# an unprivileged user and keeps its state (the SQLite database) in the /data volume.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY requirements/base.txt /tmp/base.txt
RUN python -m venv /venv \
    && /venv/bin/pip install --require-hashes -r /tmp/base.txt

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin soracord \
    && mkdir /data \
    && chown soracord:soracord /data
COPY --from=build /venv /venv
WORKDIR /app
COPY bot/ bot/
COPY cogs/ cogs/
COPY storage/ storage/
COPY providers.example.toml providers.example.toml
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_PATH=/data/soracord.db \
    PROVIDERS_FILE=/data/providers.toml
USER 10001:10001
VOLUME ["/data"]
# SIGTERM (docker stop) closes the bot cleanly: creates in flight get SHUTDOWN_GRACE (60 s) to come back,
# jobs stay in the database and resume at the next start. `docker stop` waits only 10 s unless told
# (`--time 75`; compose.yaml sets stop_grace_period: 75s).
STOPSIGNAL SIGTERM
# Cheap and local (settings, token form, profiles and keys, database version); no network, no writes.
HEALTHCHECK --interval=60s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot", "doctor", "--quick"]
CMD ["python", "-m", "bot"]
