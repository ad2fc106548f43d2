from tests.controlplane.federation.fixtures import (  # noqa: F401 (fixtures)
    fresh_jwks_cache,
    idp,
    smith_bound,
    trusted,
)
