#!/usr/bin/env python3
"""ledgerd answers as GET /openapi.json says: every documented operation is called on a
real ledgerd with its documented example parameters, and its status must be one the
document lists and its JSON body must match the documented schema (JSON Schema 2020-12,
python3-jsonschema). Each operation with a required parameter is also called without it:
400 bad_request naming the parameter. A route the document does not list is 404.

  LEDGERD=build/dev/server/ledgerd python3 tests/console/openapi_test.py
"""
import json
import time
import os
import re
import shutil
import sys
import tempfile
import traceback
import urllib.parse

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ledgerd_fixture import Ledgerd, fail, request, seed  # noqa: E402

# Path parameters the examples cannot know: a lease taken by the test.
LEASE_PLACEHOLDER = "{lease}"


def validator(spec, schema):
    resolver = jsonschema.RefResolver.from_schema(spec)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def body_of(text, content_type):
    if content_type.startswith("application/json"):
        return json.loads(text)
    return text


def call(base, path, method, params, body, token="tok-admin"):
    query = urllib.parse.urlencode({p["name"]: p["example"] for p in params if p["in"] == "query"})
    url = base + path + ("?" + query if query else "")
    return request(url, token, body, method=method.upper())


def example_body(spec, op, path):
    if "requestBody" not in op:
        return None
    if path.endswith("/what-if"):
        return json.dumps([{"type": "revoke_seat", "tenant": "acme", "actor": "olga",
                            "subscription": "L10427", "user": "bob"}])
    if path.endswith("/leases"):
        return json.dumps({"subscription": "F1", "user": "olga", "device": "laptop"})
    return json.dumps({"type": "invite_member", "tenant": "acme", "actor": "olga",
                       "user": "dora", "email": "dora@acme.test", "id": "openapi-1"})


def check_operation(spec, base, path, method, op, lease):
    """Calls one documented operation as documented; returns a line saying what it got."""
    params = op.get("parameters", [])
    real_path = path.replace("{tenant}", "acme").replace("{lease}", lease)
    for p in params:  # other path parameters: their documented example
        if p["in"] == "path" and "example" in p:
            real_path = real_path.replace("{" + p["name"] + "}", p["example"])
    usable = [p for p in params if p["in"] == "query" and "example" in p]
    status, headers, text = call(base, real_path, method, usable, example_body(spec, op, path))
    documented = op["responses"]
    if str(status) not in documented:
        fail(f"{method.upper()} {path}: HTTP {status}, not among the documented {sorted(documented)}: {text[:300]}")
    content = documented[str(status)].get("content", {})
    ctype = (headers.get("Content-Type") or "").split(";")[0]
    if content:
        if ctype not in content:
            fail(f"{method.upper()} {path}: Content-Type {ctype}, documented {sorted(content)}")
        schema = content[ctype]["schema"]
        instance = body_of(text, ctype)
        errors = sorted(validator(spec, schema).iter_errors(instance), key=lambda e: e.path)
        if errors:
            e = errors[0]
            fail(f"{method.upper()} {path}: the body does not match the document at "
                 f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}\nbody: {text[:500]}")
    if status != 200:
        fail(f"{method.upper()} {path} with its documented examples answered {status}: {text[:300]}")
    # Without each required query parameter: 400 naming it.
    for p in params:
        if p["in"] != "query" or not p.get("required"):
            continue
        rest = [q for q in usable if q["name"] != p["name"]]
        bad, _, answer = call(base, real_path, method, rest, example_body(spec, op, path))
        if bad != 400 or p["name"] not in answer or "bad_request" not in answer:
            fail(f"{method.upper()} {path} without {p['name']}: HTTP {bad} {answer[:200]} "
                 f"(expected 400 bad_request naming {p['name']})")
        validator(spec, spec["components"]["schemas"]["Error"]).validate(json.loads(answer))
    return f"{method.upper():6} {path}: {status} {ctype}, matches"


ROLE_TOKENS = {"service": "tok-service", "support": "tok-support", "auditor": "tok-auditor",
               "admin": "tok-admin"}


def check_roles(spec, base, path, method, op, lease):
    """Each role's token gets 403 forbidden exactly when the operation's x-roles lacks it."""
    params = op.get("parameters", [])
    real_path = path.replace("{tenant}", "acme").replace("{lease}", lease)
    for p in params:  # other path parameters: their documented example
        if p["in"] == "path" and "example" in p:
            real_path = real_path.replace("{" + p["name"] + "}", p["example"])
    usable = [p for p in params if p["in"] == "query" and "example" in p]
    for role, token in ROLE_TOKENS.items():
        status, _, text = call(base, real_path, method, usable, example_body(spec, op, path), token)
        allowed = role in op["x-roles"]
        if allowed and status == 403:
            fail(f"{method.upper()} {path}: the document lets {role} call it, ledgerd says 403: {text[:200]}")
        if not allowed and (status != 403 or "forbidden" not in text):
            fail(f"{method.upper()} {path}: the document forbids {role}, ledgerd answered {status}: {text[:200]}")


def take_lease(base):
    status, _, text = request(base + "/v1/tenants/acme/leases?actor=olga", "tok-admin",
                              json.dumps({"subscription": "F1", "user": "olga", "device": "pc"}),
                              method="POST")
    result = json.loads(text)
    if result.get("status") != "accepted":
        fail(f"checkout for the lease routes: HTTP {status} {text}")
    return result["lease"]


def main():
    binary = os.environ.get("LEDGERD") or fail("LEDGERD: the ledgerd binary to test")
    workdir = tempfile.mkdtemp(prefix="openapi-test.")
    # A checkpoint signed once a tenant has an event: checkpoints/latest has one to show.
    ledgerd = Ledgerd(binary, workdir, ["--checkpoint-every-events", "1"])
    try:
        base = ledgerd.url
        seed(base)
        for _ in range(100):  # the checkpointer looks every second
            if request(base + "/v1/tenants/acme/checkpoints/latest", "tok-admin")[0] == 200:
                break
            time.sleep(0.1)
        status, headers, text = request(base + "/openapi.json")
        if status != 200 or not headers.get("Content-Type", "").startswith("application/json"):
            fail(f"GET /openapi.json: HTTP {status} {headers.get('Content-Type')}")
        spec = json.loads(text)
        if not spec.get("openapi", "").startswith("3.1"):
            fail(f"not an OpenAPI 3.1 document: openapi = {spec.get('openapi')!r}")
        jsonschema.Draft202012Validator.check_schema(spec["components"]["schemas"]["State"])
        checked = 0
        # The delete last: it ends the lease the other lease routes use.
        order = {"get": 0, "post": 1, "delete": 2}
        operations = sorted(((path, method, op) for path, item in spec["paths"].items()
                             for method, op in item.items()), key=lambda x: order[x[1]])
        for path, method, op in operations:
            if "x-roles" in op:
                check_roles(spec, base, path, method, op,
                            take_lease(base) if "{lease}" in path else "")
            if path == "/v1/admin/backup":
                continue  # needs --backup-dir; tests/server cover its answers
            lease = take_lease(base) if "{lease}" in path else ""
            print(check_operation(spec, base, path, method, op, lease))
            checked += 1
        for path in ("/v1/tenants/acme/nope", "/v1/nope", "/nope"):
            status, _, text = request(base + path, "tok-admin")
            if status != 404:
                fail(f"GET {path} (not in the document): HTTP {status} {text[:200]}")
        documented = {re.sub(r"\{[^}]+\}", "X", p) for p in spec["paths"]}
        print(f"openapi: {checked} operations answer as documented, {len(documented)} paths")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        ledgerd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
