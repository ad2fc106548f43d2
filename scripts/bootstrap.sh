#!/usr/bin/env bash
# Installs everything Gatehouse needs on a fresh Debian machine: system packages (when
# missing and running as root), a virtualenv with the pinned requirements, and front-end
# packages. Idempotent: a second run only checks. Used by `make run`, `make test`, `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
# Debian packages: the PostgreSQL server and client (tests and `make run` start throwaway
# clusters), pgbouncer and nginx (the benchmark's baselines for PostgreSQL and HTTP), wrk
# (the HTTP load generator of `make bench`).
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need psql postgresql-client
need pgbench postgresql-client
need pgbouncer pgbouncer
need wrk wrk
# nginx lives in /usr/sbin, which a non-root PATH may lack.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || missing+=(postgresql)
# Node runs the test OpenID provider (devstack/oidc); Chromium is the browser Playwright drives
# in the sign-in tests (Playwright's own browser downloads are never used).
need node nodejs
need npm npm
[ -x /usr/bin/chromium ] || missing+=(chromium)
# pysaml2 (SAML sign-in) signs and verifies XML with the xmlsec1 program.
need xmlsec1 xmlsec1
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's packages start their services; Gatehouse starts its own throwaway instances.
  else
    echo "bootstrap: missing system packages: ${missing[*]}" >&2
    echo "bootstrap: install them (sudo apt-get install ${missing[*]}) or run as root." >&2
    exit 1
  fi
fi

stamp="$VENV/.requirements-stamp"
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating virtualenv in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ requirements/base.txt -nt "$stamp" ] || [ requirements/dev.txt -nt "$stamp" ]; then
  echo "bootstrap: installing Python requirements"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements/dev.txt
  touch "$stamp"
fi

# The `gatehouse` command (cli/) as an editable install; redone when pyproject.toml changes.
cli_stamp="$VENV/.cli-stamp"
if [ ! -f "$cli_stamp" ] || [ pyproject.toml -nt "$cli_stamp" ] || [ ! -x "$VENV/bin/gatehouse" ]; then
  echo "bootstrap: installing the gatehouse command"
  "$VENV/bin/pip" install -q --no-deps -e .
  touch "$cli_stamp"
fi

# The test OpenID provider's npm packages, from the lockfile; reinstalled when it changes.
oidc=devstack/oidc
if [ ! -d "$oidc/node_modules" ] || [ "$oidc/package-lock.json" -nt "$oidc/node_modules/.package-lock.json" ]; then
  echo "bootstrap: installing the test OpenID provider's npm packages"
  (cd "$oidc" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web console's front-end packages (htmx), from the lockfile; Django serves them as static
# files from frontend/node_modules (STATICFILES_DIRS). Reinstalled when the lockfile changes.
frontend=frontend
if [ ! -d "$frontend/node_modules" ] || [ "$frontend/package-lock.json" -nt "$frontend/node_modules/.package-lock.json" ]; then
  echo "bootstrap: installing the web console's npm packages"
  (cd "$frontend" && npm ci --no-audit --no-fund --loglevel=error)
fi
