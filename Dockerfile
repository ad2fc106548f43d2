# Front-end packages (htmx) from the lockfile, in a throwaway Node stage.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --omit=dev

FROM python:3.11-slim-bookworm
# psql for operators; xmlsec1 for SAML signatures (pysaml2).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client xmlsec1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt
COPY manage.py ./
COPY controlplane/ controlplane/
COPY dataplane/ dataplane/
COPY --from=frontend /src/frontend/node_modules frontend/node_modules
RUN GATEHOUSE_DEBUG=true GATEHOUSE_ENCRYPTION_KEY=$(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
    python manage.py collectstatic --no-input -v 0
RUN useradd --system --home /app gatehouse && mkdir -p /app/var && chown -R gatehouse /app/var
USER gatehouse
