#!/usr/bin/env python3
"""A software passkey (FIDO2 authenticator and WebAuthn client in one) for the passkey tests.

It is built on the `fido2` package (Yubico's python-fido2, `bash .ci/setup --test` installs it),
not on anything in this repository, so the server's WebAuthn code is checked against an
implementation it shares nothing with.

Reads one JSON object on stdin, prints one JSON object on stdout:

  {"op": "create", "origin": "https://tasks.test", "options": <creation options, text or object>,
   "uv": true, "be": true, "bs": false}
    -> {"credential": <RegistrationResponseJSON>, "key": <key>}
  {"op": "get", "origin": ..., "options": <request options>, "key": <key>, "uv": true,
   "sign_count": N}
    -> {"credential": <AuthenticationResponseJSON>, "key": <key with the new sign_count>}

The key is {"credential_id", "private_key" (PKCS#8 PEM), "rp_id", "user_handle", "sign_count",
"be", "bs"}: the whole state of the authenticator, kept by the caller between calls.

Every request may carry "rp_id" (hash this RP ID instead of the one in the options) and "uv"
(false: leave the user-verified flag off); "get" may carry "sign_count" (use this counter instead
of the stored one plus one, as a cloned authenticator would), "be"/"bs" (other backup flags) and
"user_handle" (base64url: claim to be someone else).
Those exist to make the answers the server must refuse.

An ES256 (P-256) key, "none" attestation, the UP and AT flags on creation, UP on assertion.
Errors (options without ES256, a key the options do not allow) print {"error": ...} and exit 1.
"""

import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import sha256, websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

FLAG = AuthenticatorData.FLAG


class Refused(Exception):
    """What a real authenticator or browser would refuse to do."""


def public_key_options(request):
    """The `publicKey` member of the options, given as JSON text or as an object."""
    options = request["options"]
    if isinstance(options, str):
        options = json.loads(options)
    return options.get("publicKey", options)


def flags(request, be, bs, attested):
    value = FLAG.UP
    if request.get("uv", True):
        value |= FLAG.UV
    if be:
        value |= FLAG.BE
    if bs:
        value |= FLAG.BS
    if attested:
        value |= FLAG.AT
    return value


def client_data(kind, challenge, origin):
    # The challenge goes back exactly as the server sent it (base64url text).
    return CollectedClientData.create(
        type=kind, challenge=challenge, origin=origin, cross_origin=False
    )


def create(request):
    options = public_key_options(request)
    algorithms = [p.get("alg") for p in options.get("pubKeyCredParams", [])]
    if algorithms and ES256.ALGORITHM not in algorithms:
        raise Refused(f"ES256 is not among the offered algorithms {algorithms}")
    rp_id = options["rp"].get("id")
    if not rp_id:
        raise Refused("the options name no RP ID")
    be, bs = request.get("be", True), request.get("bs", False)

    private_key = ec.generate_private_key(ec.SECP256R1())
    credential_id = os.urandom(32)
    credential_data = AttestedCredentialData.create(
        Aaguid.NONE, credential_id, ES256.from_cryptography_key(private_key.public_key())
    )
    auth_data = AuthenticatorData.create(
        sha256(request.get("rp_id", rp_id).encode()),
        flags(request, be, bs, attested=True),
        0,
        credential_data,
    )
    attestation = AttestationObject.create("none", auth_data, {})
    data = client_data("webauthn.create", options["challenge"], request["origin"])
    credential = {
        "id": websafe_encode(credential_id),
        "rawId": websafe_encode(credential_id),
        "type": "public-key",
        "response": {
            "attestationObject": websafe_encode(attestation),
            "clientDataJSON": websafe_encode(data),
            "transports": ["internal"],
        },
        "clientExtensionResults": {},
    }
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key = {
        "credential_id": websafe_encode(credential_id),
        "private_key": pem,
        "rp_id": rp_id,
        "user_handle": options["user"]["id"],
        "sign_count": 0,
        "be": be,
        "bs": bs,
    }
    return {"credential": credential, "key": key}


def get(request):
    options = public_key_options(request)
    key = dict(request["key"])
    rp_id = options.get("rpId") or key["rp_id"]
    if rp_id != key["rp_id"]:
        raise Refused(f"the key belongs to {key['rp_id']}, the options ask for {rp_id}")
    allowed = [c["id"] for c in options.get("allowCredentials") or []]
    # An empty list asks for a discoverable credential: this key is one.
    if allowed and key["credential_id"] not in allowed:
        raise Refused("the options do not allow this key")

    counter = request.get("sign_count", key["sign_count"] + 1)
    auth_data = AuthenticatorData.create(
        sha256(request.get("rp_id", rp_id).encode()),
        flags(request, request.get("be", key["be"]), request.get("bs", key["bs"]), False),
        counter,
    )
    data = client_data("webauthn.get", options["challenge"], request["origin"])
    private_key = serialization.load_pem_private_key(key["private_key"].encode(), None)
    signature = private_key.sign(auth_data + data.hash, ec.ECDSA(hashes.SHA256()))
    credential = {
        "id": key["credential_id"],
        "rawId": key["credential_id"],
        "type": "public-key",
        "response": {
            "authenticatorData": websafe_encode(auth_data),
            "clientDataJSON": websafe_encode(data),
            "signature": websafe_encode(signature),
            "userHandle": request.get("user_handle", key["user_handle"]),
        },
        "clientExtensionResults": {},
    }
    key["sign_count"] = counter
    return {"credential": credential, "key": key}


def main():
    request = json.load(sys.stdin)
    operations = {"create": create, "get": get}
    try:
        operation = operations[request.get("op")]
    except KeyError:
        print(json.dumps({"error": f"op must be one of {sorted(operations)}"}))
        return 1
    try:
        answer = operation(request)
    except (Refused, KeyError, ValueError) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
