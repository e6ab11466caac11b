"""An identity provider's keys for the tests: private keys by kid, and their public JWKS."""
from __future__ import annotations

from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

CODECS = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}


def jwks_of(keys: dict) -> dict:
    """The public JWKS of {kid: (alg, private key)}."""
    return {"keys": [{**CODECS[alg].to_jwk(k.public_key(), as_dict=True), "kid": kid, "alg": alg}
                     for kid, (alg, k) in keys.items()]}
