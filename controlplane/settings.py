"""Django settings for the Gatehouse control plane.

Everything that differs between deployments comes from the environment through the typed
readers in ``controlplane.config``; a bad value stops the process at start with a message
naming the variable. See docs or the README for the full list of variables.
"""

from pathlib import Path

from controlplane.audit.config import log_config_from_env
from controlplane.config.backends import cache_from_url, channel_layers_from_url, database_from_url
from controlplane.config.env import env_bool, env_choice, env_int, env_list, env_str
from controlplane.config.keys import (
    fernet_keys_from_env,
    masking_key_from_env,
    secret_key_from_env,
)
from controlplane.config.ratelimits import credential_rate_limits_from_env
from controlplane.config.testing import running_under_pytest_django, test_key_defaults_apply
from controlplane.identities.oidc.config import oidc_config_from_env
from controlplane.identities.saml.config import saml_config_from_env
from controlplane.jobs.config import (
    broker_transport_options,
    housekeeping_interval_from_env,
    webhook_from_env,
)
from controlplane.web.config import (
    agent_public_address_from_env,
    agent_public_http_address_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent

if running_under_pytest_django():
    test_key_defaults_apply()  # see controlplane/config/testing.py for why this is here

DEBUG = env_bool("GATEHOUSE_DEBUG", False)
SECRET_KEY = secret_key_from_env(debug=DEBUG)
ALLOWED_HOSTS = env_list("GATEHOUSE_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("GATEHOUSE_CSRF_TRUSTED_ORIGINS", [])

# Behind a TLS-terminating proxy (which must set X-Forwarded-Proto, and owns HSTS and the
# HTTP->HTTPS redirect): trust its scheme header and keep cookies off plain HTTP.
BEHIND_HTTPS_PROXY = env_bool("GATEHOUSE_BEHIND_HTTPS_PROXY", False)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008"]  # HSTS, redirect: the proxy's

# Fernet keys for secrets at rest (upstream passwords, token signing keys); first encrypts.
GATEHOUSE_ENCRYPTION_KEYS = fernet_keys_from_env()
# The masking key agents use for hash and format_preserving; "" = generated and stored.
GATEHOUSE_MASKING_KEY = masking_key_from_env()

# Gateway tokens: the default and the maximum lifetime a caller may ask for.
GATEHOUSE_TOKEN_TTL_MAX_SECONDS = 86400
GATEHOUSE_TOKEN_TTL_SECONDS = env_int(
    "GATEHOUSE_TOKEN_TTL_SECONDS", 900, minimum=1, maximum=GATEHOUSE_TOKEN_TTL_MAX_SECONDS
)

# Access requests not decided within this time expire (controlplane/access).
GATEHOUSE_ACCESS_REQUEST_TTL_SECONDS = env_int(
    "GATEHOUSE_ACCESS_REQUEST_TTL_SECONDS", 86400, minimum=60, maximum=30 * 86400
)

# Webhook notifications of access requests and decisions (controlplane/jobs/webhooks.py).
GATEHOUSE_WEBHOOK_URL, GATEHOUSE_WEBHOOK_SECRET = webhook_from_env()

# The tamper-evident audit log: origin, signing key, witnesses (controlplane/audit/config.py).
GATEHOUSE_LOG = log_config_from_env()

# Background jobs (controlplane/jobs): Celery with beat in production. The default broker
# "memory://" runs tasks eagerly in the web process; see controlplane/jobs/__init__.py.
CELERY_BROKER_URL = env_str("GATEHOUSE_CELERY_BROKER_URL", "memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_BEAT_SCHEDULE = {
    "housekeeping": {
        "task": "controlplane.jobs.tasks.housekeeping",
        "schedule": housekeeping_interval_from_env(),
    },
    "log-checkpoint": {"task": "controlplane.jobs.tasks.log_checkpoint", "schedule": 1.0},
    "statement-holds-expire": {
        "task": "controlplane.jobs.tasks.statement_holds_expire",
        "schedule": 5.0,
    },
    "tool-call-holds-expire": {
        "task": "controlplane.jobs.tasks.tool_call_holds_expire",
        "schedule": 5.0,
    },
}

# The MCP server (/mcp): sessions live in this process unless stateless (several replicas
# behind one address without sticky sessions); see controlplane/mcp_server/transport.py.
GATEHOUSE_MCP_STATELESS = env_bool("GATEHOUSE_MCP_STATELESS", False)

# How often an agent's websocket checks the config revision for changes made elsewhere.
GATEHOUSE_CONFIG_POLL_SECONDS = 0.5

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "controlplane.identities",
    "controlplane.agents",
    "controlplane.resources",
    "controlplane.access",
    "controlplane.policies",
    "controlplane.masking",
    "controlplane.guardrails",
    "controlplane.audit",
    "controlplane.sessions",
    "controlplane.federation",
    "controlplane.execution",
    "controlplane.mcp_server",
    "controlplane.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the console's static files (htmx) from the app process; see STATICFILES_DIRS.
    "controlplane.web.staticfiles.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
ASGI_APPLICATION = "controlplane.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "controlplane.identities.saml.context.saml_sign_in",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL"), default_sqlite_path=BASE_DIR / "var" / "controlplane.sqlite3"
    )
}
# Keep connections between requests and websocket messages: Channels closes "old"
# connections around every database call, and reconnecting per agent batch is costly.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("GATEHOUSE_DB_CONN_MAX_AGE", 300, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CHANNEL_LAYERS = channel_layers_from_url(env_str("GATEHOUSE_REDIS_URL"))

# Django's cache holds the credential endpoints' rate-limit counters: in-process by default,
# Redis (GATEHOUSE_CACHE_URL=redis://...) when several replicas must share them.
CACHES = {"default": cache_from_url(env_str("GATEHOUSE_CACHE_URL"))}
# Limits on token exchange, token minting and password sign-in, per client address and per
# presented credential (controlplane/config/ratelimits.py, identities/throttling.py).
GATEHOUSE_AUTH_RATE_LIMITS = credential_rate_limits_from_env()

AUTH_USER_MODEL = "identities.User"

# Browser sign-in: OIDC when GATEHOUSE_OIDC_ISSUER is set (controlplane/identities/oidc/config.py
# reads the rest); passwords only for administrators and only with GATEHOUSE_LOCAL_LOGIN=true.
GATEHOUSE_OIDC = oidc_config_from_env()
GATEHOUSE_LOCAL_LOGIN = env_bool("GATEHOUSE_LOCAL_LOGIN", False)
# SAML 2.0 sign-in when GATEHOUSE_SAML_IDP_METADATA_URL (or _FILE) is set; see
# controlplane/identities/saml/config.py.
GATEHOUSE_SAML = saml_config_from_env()
# The command line (`gatehouse login`): its public client at the provider (device flow), and
# the audience of provider access tokens accepted as API bearer tokens. Both optional; see
# controlplane/identities/bearer_oidc.py.
GATEHOUSE_OIDC_CLI_CLIENT_ID = env_str("GATEHOUSE_OIDC_CLI_CLIENT_ID").strip()
GATEHOUSE_OIDC_API_AUDIENCE = env_str("GATEHOUSE_OIDC_API_AUDIENCE").strip()
AUTHENTICATION_BACKENDS = [
    "controlplane.identities.oidc.backend.OidcBackend",
    "controlplane.identities.saml.backend.SamlBackend",
    "controlplane.identities.local_login.LocalPasswordBackend",
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Front-end packages come from frontend/package-lock.json (scripts/bootstrap.sh runs npm ci);
# the console loads /static/htmx/htmx.min.js and /static/asciinema-player/. WhiteNoise serves
# files found by the finders, so no collectstatic step is needed to run; a container build may
# still collect them.
_NODE_MODULES = BASE_DIR / "frontend" / "node_modules"
# axe-core (also in the lockfile) is not served: browser tests inject it from node_modules.
STATICFILES_DIRS = [
    ("htmx", _NODE_MODULES / "htmx.org" / "dist"),
    ("asciinema-player", _NODE_MODULES / "asciinema-player" / "dist" / "bundle"),
]
WHITENOISE_USE_FINDERS = True

# Where people reach the data-plane agent with psql ("host:port"), shown on "My access".
GATEHOUSE_AGENT_PUBLIC_ADDRESS = agent_public_address_from_env()
# ... and its HTTP listener (http and llm resources: https://HOST:PORT/<resource>/).
GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS = agent_public_http_address_from_env()

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "controlplane.identities.authentication.ApiKeyAuthentication",
        # Before the OIDC bearer class: it takes only bearer tokens whose issuer is ours.
        "controlplane.identities.authentication.GatewayTokenAuthentication",
        "controlplane.identities.bearer_oidc.OidcBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "controlplane.api.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse control plane API",
    "DESCRIPTION": "Identities, resources, just-in-time grants, agents and the audit log.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# Logs go to stderr only. SQL logging stays off at every level: statements carry
# ciphertexts and key hashes, and parameters are no business of a log file.
LOG_LEVEL = env_choice("GATEHOUSE_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
