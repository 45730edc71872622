#!/usr/bin/env python3
"""Writes server/console/openapi.json, the OpenAPI 3.1 description of ledgerd's HTTP routes
(served at GET /openapi.json): edit this file, run it, commit both.
  python3 tools/openapi.py [OUTPUT]   (default: server/console/openapi.json)
tests/console/openapi_test.py checks that a real ledgerd answers as the document says."""
import json
import os
import sys
string = {"type": "string"}
time_ = {"type": "string", "format": "date-time"}
int_ = {"type": "integer", "minimum": 0}
nullable = lambda t: {"type": [t, "null"]}
obj = lambda req, props, extra=True: {"type": "object", "required": req, "properties": props, **({} if extra else {"additionalProperties": False})}
arr = lambda items: {"type": "array", "items": items}
ref = lambda n: {"$ref": "#/components/schemas/" + n}

def p(name, where="query", required=False, desc="", example=None, schema=None):
    d = {"name": name, "in": where, "required": required or where == "path", "description": desc,
         "schema": schema or string}
    if example is not None: d["example"] = example
    return d

def resp(desc, schema=None, ctype="application/json"):
    r = {"description": desc}
    if schema is not None: r["content"] = {ctype: {"schema": schema}}
    return r

errors = {
    "400": resp("bad_request: the message names the field or parameter", ref("Error")),
    "401": resp("unauthorized: no token, or an unknown one", ref("Error")),
    "403": resp("forbidden: the token does not reach this tenant, or its role lacks the right", ref("Error")),
    "404": resp("unknown_tenant, or not_found", ref("Error")),
}
def ok(schema, desc="OK", ctype="application/json"):
    return {"200": resp(desc, schema, ctype), **errors}

tenant = p("tenant", "path", desc="the tenant id", example="acme")
T = "/v1/tenants/{tenant}"
# A node on the log in PostgreSQL adds these to /healthz (DESIGN section 7).
node_health = {"role": {"enum": ["writer", "follower"]}, "writer": string, "lag_events": int_,
               "partitions": int_, "leases": {"type": "integer", "minimum": 0, "description":
               "partitions this node writes now (all, or with --spread-partitions its share)"}, "positions": {"type": "array", "items": int_,
               "description": "each partition's last position; a position is (partition << 48) | n"}}
event_entry = obj(["position", "version", "type", "actor", "recorded_at", "effective_at", "summary", "caused"], {
    "position": int_, "version": int_, "type": string, "actor": string, "recorded_at": time_,
    "effective_at": time_, "reason": nullable("string"), "summary": string,
    "caused": arr({"$ref": "#/components/schemas/HistoryEntry"}), "context": {"type": "boolean"}})
rejected_entry = obj(["rejected", "at", "actor", "command_type", "code", "message"], {
    "rejected": {"const": True}, "at": time_, "actor": string, "command_type": string,
    "command_id": string, "code": string, "message": string})

spec = {
  "openapi": "3.1.0",
  "info": {"title": "Entitlement ledger (ledgerd) HTTP API", "version": "1",
           "description": "Commands, access checks, the event stream, and the replay verbs of `ledger-replay` "
             "(each replay route answers exactly `ledger-replay VERB --tenant T ... --json`). "
             "Every route under /v1 takes `Authorization: Bearer TOKEN`; a token reaches only its tenants and "
             "what its role allows (service, support, auditor, admin). Errors are `{\"status\":\"rejected\",\"code\",\"message\"}` with the HTTP status."},
  "servers": [{"url": "/"}],
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Error": obj(["status", "code", "message"], {"status": {"const": "rejected"}, "code": string, "message": string}),
      "Command": {"type": "object", "required": ["type", "actor"],
                  "description": "One command (DESIGN 6.1): type, tenant, actor, id, at, expected_version, effective_at + reason, and the command's own fields.",
                  "properties": {"type": string, "tenant": string, "actor": string, "id": string, "at": time_,
                                 "expected_version": int_, "effective_at": time_, "reason": string}},
      "Result": {"type": "object", "required": ["status", "id"],
                 "properties": {"status": {"enum": ["accepted", "duplicate", "rejected"]}, "id": string,
                                "version": int_, "position": int_,
                                "events": arr(obj(["type", "position", "version"], {"type": string, "position": int_, "version": int_})),
                                "code": string, "message": string}},
      "Decision": obj(["allowed", "reason", "subscription"], {
          "allowed": {"type": "boolean"}, "reason": nullable("string"), "subscription": nullable("string")}),
      "HistoryEntry": {"oneOf": [event_entry, rejected_entry]},
      "State": obj(["tenant", "version", "position", "at", "members", "groups", "subscriptions"], {
          "tenant": string, "version": int_, "position": int_, "at": time_,
          "members": arr(obj(["user", "email", "role", "status"], {"user": string, "email": string, "role": string, "status": string})),
          "groups": arr(obj(["group", "name", "members"], {"group": string, "name": string, "members": arr(string)})),
          "subscriptions": arr(obj(
              ["subscription", "product", "edition", "seats", "seat_model", "status", "auto_renew", "period_start",
               "period_end", "groups", "direct", "assigned", "violations", "pending"],
              {"subscription": string, "product": string, "edition": string, "seats": int_,
               "seat_model": {"enum": ["named", "concurrent"]}, "status": string, "auto_renew": {"type": "boolean"},
               "period_start": nullable("string"), "period_end": nullable("string"),
               "purchase_order": nullable("string"), "groups": arr(string), "direct": arr(string),
               "assigned": arr(string), "violations": arr({}),
               "pending": arr(obj(["change", "effective_at"], {"change": string, "seats": int_, "edition": string,
                                                               "effective_at": nullable("string")})),
               "leases": arr(obj(["lease", "user", "device", "granted_at"], {"lease": string, "user": string, "device": string, "granted_at": nullable("string")})),
               "add_on_of": nullable("string"), "overage": string}))}),
      "Diff": obj(["tenant", "from", "to", "members", "groups", "subscriptions", "access"], {
          "tenant": string, "members": {"type": "object"}, "groups": {"type": "object"},
          "subscriptions": {"type": "object"},
          "access": obj(["gained", "lost"], {"gained": arr(obj(["user", "product"], {"user": string, "product": string})),
                                             "lost": arr(obj(["user", "product"], {"user": string, "product": string}))})}),
    }},
  "security": [{"bearer": []}],
  "paths": {
    "/healthz": {"get": {"summary": "Liveness and write health; on PostgreSQL also role, writer and lag", "security": [],
        "responses": {"200": resp("writes are accepted", obj(["status", "position"], {"status": {"const": "ok"}, "position": int_, **node_health})),
                      "503": resp("writes are refused (reads still served)", obj(["status", "position"], {"status": string, "position": int_, "problem": string, **node_health}))}}},
    "/metrics": {"get": {"summary": "Prometheus text: counters, latency and group-size histograms", "security": [],
        "responses": {"200": resp("metrics", string, "text/plain")}}},
    "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": resp("OpenAPI 3.1", {"type": "object"})}}},
    "/console/": {"get": {"summary": "The web console (HTML); sign in by pasting a token", "security": [],
        "responses": {"200": resp("the console", string, "text/html")}}},
    "/v1/commands": {"post": {"summary": "Submit one command or a JSON array of commands; answered once durable",
        "parameters": [p("Idempotency-Key", "header", desc="the command's id (one command per request)", example="order-4711")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [ref("Command"), arr(ref("Command"))]}}}},
        "responses": {"200": resp("the result (rejections included: status rejected, with code and message), or an array of results",
                                  {"oneOf": [ref("Result"), arr(ref("Result"))]}), **errors}}},
    "/v1/events": {"get": {"summary": "The log from a position as JSON lines, then a live tail (auditor, admin)",
        "parameters": [p("from", desc="first position", example="1", schema={"type": "string", "pattern": "^[0-9]+$"}),
                       p("tenant", desc="only this tenant's events", example="acme"),
                       p("follow", desc="0: stop at the end instead of tailing", example="0")],
        "responses": ok(string, "JSON lines (chunked)", "application/x-ndjson")}},
    "/v1/admin/backup": {"post": {"summary": "Take a backup into ledgerd's --backup-dir (admin with all tenants)",
        "responses": ok({"type": "object"})}},
    "/v1/tenants": {"get": {"summary": "The tenants this token reaches, paged",
        "parameters": [p("limit", example="100"), p("after", desc="the `next` of the previous page")],
        "responses": ok(obj(["tenants"], {"tenants": arr(string), "next": string}))}},
    T + "/check": {"get": {"summary": "May USER use PRODUCT (now, or at a time)?",
        "parameters": [tenant, p("user", required=True, example="bob"), p("product", required=True, example="pcon.planner"),
                       p("at", desc="RFC 3339; the past is replayed", example="2026-02-15T00:00:00Z")],
        "responses": ok(ref("Decision"))}},
    T + "/state": {"get": {"summary": "Members, groups, subscriptions (seats, violations, pending changes), now or in the past",
        "parameters": [tenant, p("at", desc="effective time", example="2026-02-15T00:00:00Z"), p("position", desc="right after this position"),
                       p("known_at", desc="ignore what was recorded after this time")],
        "responses": ok(ref("State"))}},
    T + "/history": {"get": {"summary": "Everything that touched a user, subscription or group, rejected attempts included; paged",
        "parameters": [tenant, p("user", example="bob"), p("subscription"), p("group"), p("from"), p("to"),
                       p("limit", example="50"), p("after", desc="the `next` of the previous page")],
        "responses": ok(obj(["tenant", "entries"], {"tenant": string, "entries": arr(ref("HistoryEntry")), "next": string}))}},
    T + "/explain": {"get": {"summary": "Why USER may or may not use PRODUCT, with the causal chain of events",
        "parameters": [tenant, p("user", required=True, example="bob"), p("product", required=True, example="pcon.planner"), p("at")],
        "responses": ok(obj(["tenant", "user", "product", "at", "allowed", "reason", "because"], {
            "tenant": string, "user": string, "product": string, "at": time_, "allowed": {"type": "boolean"},
            "reason": nullable("string"), "subscription": nullable("string"),
            "because": arr(obj(["position", "type", "summary"], {"position": int_, "type": string, "summary": string}))}))}},
    T + "/diff": {"get": {"summary": "What changed between two times or positions (members, groups, subscriptions, access)",
        "parameters": [tenant, p("from", required=True, example="2026-01-01T00:00:00Z"), p("to", required=True, example="2027-01-01T00:00:00Z"), p("known_at")],
        "responses": ok(ref("Diff"))}},
    T + "/usage": {"get": {"summary": "Seats in use per day (peak, average), named or floating",
        "parameters": [tenant, p("subscription", required=True, example="L10427"), p("from", required=True, example="2026-12-01T00:00:00Z"),
                       p("to", required=True, example="2027-01-01T00:00:00Z")],
        "responses": ok(obj(["tenant", "subscription", "from", "to", "days", "peak", "average", "days_at_capacity"], {
            "tenant": string, "subscription": string, "from": time_, "to": time_, "peak": int_, "average": {"type": "number"},
            "days_at_capacity": int_,
            "days": arr(obj(["date", "peak", "average", "seats", "at_capacity"], {"date": string, "peak": int_, "average": {"type": "number"},
                                                                                  "seats": int_, "at_capacity": {"type": "boolean"}}))}))}},
    T + "/rejections": {"get": {"summary": "The refused commands: who, when, why; paged",
        "parameters": [tenant, p("from"), p("to"), p("limit", example="100"), p("after")],
        "responses": ok(obj(["rejections"], {"rejections": arr(obj(["at", "actor", "code", "message", "command_type"], {
            "at": time_, "actor": string, "code": string, "message": string, "command_type": string, "command_id": string})),
            "next": string}))}},
    T + "/digest": {"get": {"summary": "The tenant's head (version, hash) to keep outside the ledger (auditor, admin)",
        "parameters": [tenant],
        "responses": ok(obj(["ledger_position", "tenants"], {"ledger_position": int_, "tenants": arr(obj(["tenant", "version", "hash"], {
            "tenant": string, "version": int_, "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}))}))}},
    T + "/verify": {"get": {"summary": "Check the tenant's hash chain, stream index, head and views (auditor, admin)",
        "parameters": [tenant],
        "responses": ok(obj(["ok", "events", "problems", "seconds"], {"ok": {"type": "boolean"}, "events": int_,
            "problems": arr(obj(["what"], {"what": string})), "seconds": {"type": "number"}}))}},
    T + "/export": {"get": {"summary": "Every event of the tenant as JSON lines or RFC 4180 CSV (auditor, admin)",
        "parameters": [tenant, p("format", example="jsonl", schema={"enum": ["jsonl", "csv"]}), p("from"), p("to")],
        "responses": {"200": {"description": "the events", "content": {"application/x-ndjson": {"schema": string}, "text/csv": {"schema": string}}}, **errors}}},
    T + "/checkpoints/{version}": {"get": {"summary": "A signed checkpoint of the tenant's head the ledger kept (signed note, docs/VERIFYING.md): `latest` or a version (auditor, admin)",
        "parameters": [tenant, p("version", "path", example="latest")],
        "responses": {"200": {"description": "the note", "content": {"text/plain": {"schema": string}}}, **errors}}},
    T + "/what-if": {"post": {"summary": "Decide commands on a copy of the tenant (real rules and time effects); nothing is recorded",
        "parameters": [tenant, p("at", desc="start the copy at this time")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": arr(ref("Command"))}}},
        "responses": ok(obj(["results", "diff"], {"results": arr({"type": "object", "required": ["status"]}), "diff": ref("Diff")}))}},
    T + "/leases": {
        "get": {"summary": "The floating-seat leases in use now", "parameters": [tenant], "responses": ok({"type": "object"})},
        "post": {"summary": "Check out a floating seat (subscription, user, device)", "parameters": [tenant, p("actor", desc="who checks out (default: the user)", example="olga")],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                 "responses": ok(ref("Result"))}},
    T + "/leases/{lease}": {"delete": {"summary": "Check a lease in", "parameters": [tenant, p("lease", "path"), p("actor", desc="who (or in the body)", example="olga")],
        "responses": ok(ref("Result"))}},
    T + "/leases/{lease}/heartbeat": {"post": {"summary": "Renew a lease", "parameters": [tenant, p("lease", "path"), p("actor", desc="who (or in the body)", example="olga")],
        "responses": ok(ref("Result"))}},
  }}
RIGHTS = {
  "write": ["service", "admin"],
  "check": ["service", "support", "auditor", "admin"],
  "support": ["support", "auditor", "admin"],
  "audit": ["auditor", "admin"],
  "backup": ["admin"],
}
RIGHT_OF = {
  ("/v1/commands", "post"): "write", ("/v1/events", "get"): "audit", ("/v1/admin/backup", "post"): "backup",
  ("/v1/tenants", "get"): "check", (T + "/check", "get"): "check", (T + "/state", "get"): "check",
  (T + "/history", "get"): "support", (T + "/explain", "get"): "support", (T + "/diff", "get"): "support",
  (T + "/usage", "get"): "support", (T + "/rejections", "get"): "support", (T + "/what-if", "post"): "support",
  (T + "/digest", "get"): "audit", (T + "/verify", "get"): "audit", (T + "/export", "get"): "audit", (T + "/checkpoints/{version}", "get"): "audit",
  (T + "/leases", "get"): "check", (T + "/leases", "post"): "write", (T + "/leases/{lease}", "delete"): "write",
  (T + "/leases/{lease}/heartbeat", "post"): "write",
}
for path, item in spec["paths"].items():
  for method, op in item.items():
    if not path.startswith("/v1"):
      continue
    roles = RIGHTS[RIGHT_OF[(path, method)]]
    op["x-roles"] = roles
    op["description"] = ("Roles: " + ", ".join(roles) + " (a token without a role is a service token, "
                         "or an admin one with \"system\": true). "
                         + ("Backups also need a token for every tenant (\"*\"). " if path == "/v1/admin/backup" else "")
                         + "Any other role: 403 forbidden; a tenant outside the token's: 403.")
spec["info"]["description"] += (" Each operation's `x-roles` lists the roles that may call it.")
default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server", "console",
                       "openapi.json")
with open(sys.argv[1] if len(sys.argv) > 1 else default, "w") as out:
    json.dump(spec, out, indent=1)
    out.write("\n")
