"""Secrets: AWS_ACCESS_KEY, PRIVATE_KEY, JWT, BEARER_TOKEN and API_KEY (vendor prefixes).

Vendor prefixes make these near-certain, so they score high and need no context.
"""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

AWS_KEY_ID = r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}"
JWT = r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
# The token may hold dots (JWTs) but a trailing dot ends the sentence, not the token.
BEARER = r"[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9._~+/-]{15,}[A-Za-z0-9_~+/-]=*"
GITHUB = r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,}"
SLACK = r"xox[abposr]-[0-9A-Za-z-]{10,}"
STRIPE = r"(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{32,}"
# sk-..., sk-proj-..., sk-ant-api03-...
OPENAI_ANTHROPIC = r"sk-[A-Za-z0-9_-]{32,}"
GOOGLE = r"AIza[0-9A-Za-z_-]{35}"
GITLAB = r"glpat-[0-9A-Za-z_-]{20,}"
NPM = r"npm_[0-9A-Za-z]{36,}"
PYPI = r"pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}"
HUGGING_FACE = r"hf_[0-9A-Za-z]{34,}"
SENDGRID = r"SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}"
SHOPIFY = r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}"
DIGITALOCEAN = r"do[opr]_v1_[0-9a-f]{64}"


def _api_key(name: str, body: str) -> Recognizer:
    return Recognizer(
        entity="API_KEY",
        name=name,
        pattern=word_bounded(body),
        validator=exactly(body, validators.key_material),
        score=0.95,
    )


RECOGNIZERS = (
    Recognizer(
        entity="AWS_ACCESS_KEY",
        name="aws_access_key_id",
        pattern=word_bounded(AWS_KEY_ID),
        validator=exactly(AWS_KEY_ID),
        score=0.95,
    ),
    Recognizer(
        entity="PRIVATE_KEY",
        name="pem_private_key",
        # The whole block, across line breaks (or literal `\n` inside JSON strings).
        pattern=(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
        ),
        score=1.0,
    ),
    Recognizer(
        entity="JWT",
        name="jwt",
        pattern=word_bounded(JWT),
        validator=exactly(JWT, validators.jwt),
        score=0.95,
    ),
    Recognizer(
        entity="BEARER_TOKEN",
        name="bearer_token",
        pattern=word_bounded(BEARER),
        validator=exactly(BEARER),
        score=0.9,
    ),
    _api_key("github_token", GITHUB),
    _api_key("slack_token", SLACK),
    _api_key("stripe_key", STRIPE),
    _api_key("openai_anthropic_key", OPENAI_ANTHROPIC),
    _api_key("google_api_key", GOOGLE),
    _api_key("gitlab_token", GITLAB),
    _api_key("npm_token", NPM),
    _api_key("pypi_token", PYPI),
    _api_key("hugging_face_token", HUGGING_FACE),
    _api_key("sendgrid_key", SENDGRID),
    _api_key("shopify_token", SHOPIFY),
    _api_key("digitalocean_token", DIGITALOCEAN),
)
