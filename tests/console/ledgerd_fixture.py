"""A real ledgerd for the browser and HTTP tests of tests/console: its own data directory
and tokens file, loopback ports, the manual clock; and the tenant those tests read."""
import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

# Token → tokens-file entry (server/tokens.h).
TOKENS = {
    "tok-system": {"name": "billing", "tenants": ["*"], "system": True},
    "tok-admin": {"name": "ops", "tenants": ["*"], "role": "admin"},
    "tok-service": {"name": "app", "tenants": ["acme"], "role": "service"},
    "tok-support": {"name": "desk", "tenants": ["acme"], "role": "support"},
    "tok-auditor": {"name": "audit", "tenants": ["acme"], "role": "auditor"},
}
# A group name that would run script if the console put text in as HTML.
EVIL_NAME = '<img src=x onerror="document.title=\'pwned\'"><b>Designers</b>'
# Likewise a reason, which timelines and chains show.
EVIL_REASON = "ticket 4711: seat was given by phone <img src=x onerror=alert(1)>"


def fail(message):
    raise AssertionError(message)


class Ledgerd:
    """ledgerd on a fresh data directory; stopped (SIGTERM, then SIGKILL) by stop()."""

    def __init__(self, binary, workdir, extra_args=()):
        tokens = []
        for token, entry in TOKENS.items():
            e = dict(entry)
            e["token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
            tokens.append(e)
        with open(os.path.join(workdir, "tokens.json"), "w") as f:
            json.dump(tokens, f)
        ready = os.path.join(workdir, "ready")
        self.log = open(os.path.join(workdir, "ledgerd.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--data", os.path.join(workdir, "ledger"), "--clock", "manual",
             "--http", "127.0.0.1:0", "--listen", "127.0.0.1:0",
             "--tokens", os.path.join(workdir, "tokens.json"), "--ready-file", ready,
             *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(1000):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                break
            if self.proc.poll() is not None:
                fail("ledgerd exited: " + open(self.log.name).read())
            time.sleep(0.01)
        else:
            fail("ledgerd did not start within 10 s")
        http = open(ready).read().split()[0]
        self.url = "http://" + http.split("://")[-1]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def request(url, token=None, body=None, method=None):
    """(status, headers, body text) of one HTTP request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def seed(base):
    """The tenant the pages show: acme, with a named and a concurrent subscription, a
    group, a rejected attempt (olga, 3 Feb), bob's revocation (1 March) and a backdated
    correction (olga seated since 2 March, recorded on 10 March)."""
    commands = [
        {"type": "define_product", "actor": "system", "product": "pcon.planner",
         "editions": ["standard", "pro"], "at": "2026-01-05T09:00:00Z"},
        {"type": "create_tenant", "tenant": "acme", "actor": "system", "owner": "olga",
         "owner_email": "olga@acme.test"},
        {"type": "create_tenant", "tenant": "globex", "actor": "system", "owner": "gina",
         "owner_email": "gina@globex.test"},
        {"type": "invite_member", "tenant": "acme", "actor": "olga", "user": "bob",
         "email": "bob@acme.test"},
        {"type": "accept_invitation", "tenant": "acme", "actor": "bob"},
        {"type": "invite_member", "tenant": "acme", "actor": "olga", "user": "carol",
         "email": "carol@acme.test"},
        {"type": "accept_invitation", "tenant": "acme", "actor": "carol"},
        {"type": "purchase_subscription", "tenant": "acme", "actor": "olga",
         "subscription": "L10427", "product": "pcon.planner", "edition": "pro", "seats": 2,
         "period_start": "2026-01-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z"},
        {"type": "create_group", "tenant": "acme", "actor": "olga", "group": "designers",
         "name": EVIL_NAME},
        {"type": "add_group_member", "tenant": "acme", "actor": "olga", "group": "designers",
         "user": "carol"},
        {"type": "assign_seat", "tenant": "acme", "actor": "olga", "subscription": "L10427",
         "user": "bob", "at": "2026-02-01T10:00:00Z"},
        {"type": "assign_group", "tenant": "acme", "actor": "olga", "subscription": "L10427",
         "group": "designers", "at": "2026-02-02T10:00:00Z"},
        # The third seat of two: rejected, and shown in olga's and the subscription's story.
        {"type": "assign_seat", "tenant": "acme", "actor": "olga", "subscription": "L10427",
         "user": "olga", "at": "2026-02-03T10:00:00Z"},
        {"type": "revoke_seat", "tenant": "acme", "actor": "olga", "subscription": "L10427",
         "user": "bob", "at": "2026-03-01T10:00:00Z"},
        # Recorded on 10 March, true since 2 March: a backdated correction (olga took
        # bob's freed seat by phone).
        {"type": "assign_seat", "tenant": "acme", "actor": "olga", "subscription": "L10427",
         "user": "olga", "at": "2026-03-10T10:00:00Z", "effective_at": "2026-03-02T00:00:00Z",
         "reason": EVIL_REASON},
        # A floating seat (R19) for the lease routes.
        {"type": "purchase_subscription", "tenant": "acme", "actor": "olga",
         "subscription": "F1", "product": "pcon.planner", "edition": "standard", "seats": 50,
         "seat_model": "concurrent", "period_start": "2026-01-01T00:00:00Z",
         "period_end": "2027-01-01T00:00:00Z", "at": "2026-03-10T11:00:00Z"},
        {"type": "assign_seat", "tenant": "acme", "actor": "olga", "subscription": "F1",
         "user": "olga"},
    ]
    for c in commands:
        status, _, body = request(base + "/v1/commands", "tok-system", json.dumps(c))
        result = json.loads(body)
        expected = "rejected" if c.get("at") == "2026-02-03T10:00:00Z" else "accepted"
        if result.get("status") != expected:
            fail(f"seed: {c['type']} answered {body} (HTTP {status}), expected {expected}")
