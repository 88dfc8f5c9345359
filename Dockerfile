# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir --require-hashes -r requirements/base.txt

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 soracord && mkdir /data && chown soracord /data
COPY --from=build /venv /venv
WORKDIR /app
COPY bot/ bot/
COPY cogs/ cogs/
COPY storage/ storage/
COPY providers.example.toml providers.example.toml
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_PATH=/data/soracord.db \
    PROVIDERS_FILE=/data/providers.toml
USER soracord
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
