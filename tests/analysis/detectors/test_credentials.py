import base64

from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.detectors.credentials import credential


def _hits(key, text):
    group = Group("header", "", (Field(f"header:{key}", key, text),))
    return [(h.value, h.confidence) for h in credential.find(group)]


def test_basic_authorization_needs_a_user_and_a_password():
    token = base64.b64encode(b"jane:hunter2").decode()
    assert _hits("authorization", f"Basic {token}") == [(f"Basic {token}", 0.95)]
    assert _hits("authorization", "Basic " + base64.b64encode(b"no-colon").decode()) == []


def test_bearer_tokens_but_not_publishable_api_keys():
    assert _hits("authorization", "Bearer ya29.a0AfH6SMBx3kP2lQ")
    assert _hits("authorization", "Bearer pk_live_51H8xYz") == []


def test_generic_token_keys_are_unsure_unless_the_value_is_a_jwt():
    assert _hits("token", "5f8d0a7b1c2e3d4f5a6b7c8d9e0f1a2b")[0][1] < 0.5
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"
    assert _hits("token", jwt)[0][1] >= 0.5


def test_masked_passwords_and_app_secrets_are_not_credentials():
    assert _hits("password", "••••••") == []
    assert _hits("app_secret", "0123456789abcdef") == []
