FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt
COPY manage.py ./
COPY controlplane/ controlplane/
COPY dataplane/ dataplane/
RUN useradd --system --home /app gatehouse && mkdir -p /app/var && chown gatehouse /app/var
USER gatehouse
