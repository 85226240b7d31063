"""A bounded, steady load through the gateway, for the rotation drill.

Each worker is one customer on one keep-alive connection, repeating the
checkout story: log in (every LOGIN_EVERY rounds, so tokens signed before and
after a key rotation are both in use), read their profile, read a product,
place an order, pay it, read it back. Every answer other than the one the
contract promises counts as a failure, and so does a dropped connection.

    python3 steady_load.py --product ID --stop-file F --report R EMAIL...

Runs until the stop file exists, then writes the report (JSON) and exits.
Every customer's password is "<local part> password 1".
"""

import argparse
import base64
import http.client
import json
import os
import threading
import time
from collections import Counter

LOGIN_EVERY = 10


def key_id(token):
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


class Worker(threading.Thread):
    def __init__(self, gateway, email, product, stop_file, tally):
        super().__init__(daemon=True)
        self.gateway, self.email, self.product = gateway, email, product
        self.stop_file, self.tally = stop_file, tally
        self.connection = None
        self.token = None

    def call(self, name, method, path, body=None, want=200):
        """One request; True when it got the answer `want`."""
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.gateway, timeout=10)
            self.connection.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = self.connection.getresponse()
            status, text = response.status, response.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as error:
            self.connection = None
            status, text = "connection", repr(error)
        self.tally.record(name, status == want, status, text)
        if status != want:
            return None
        return json.loads(text) if text else {}

    def run(self):
        password = self.email.split("@")[0] + " password 1"
        round_ = 0
        while not os.path.exists(self.stop_file):
            if round_ % LOGIN_EVERY == 0:
                self.token = None
                login = self.call("login", "POST", "/api/v1/auth/login",
                                  {"email": self.email, "password": password})
                if login is None:
                    time.sleep(0.2)
                    continue
                self.token = login["access_token"]
                self.tally.key_ids[key_id(self.token)] += 1
            round_ += 1
            self.call("profile", "GET", "/api/v1/users/me")
            self.call("product", "GET", f"/api/v1/catalog/products/{self.product}")
            order = self.call("order", "POST", "/api/v1/orders",
                              {"items": [{"product_id": self.product, "quantity": 1}]}, want=201)
            if order is None:
                continue
            paid = self.call("pay", "POST", f"/api/v1/orders/{order['id']}/pay",
                             {"payment_token": "tok_visa"})
            read = self.call("read order", "GET", f"/api/v1/orders/{order['id']}")
            if paid is not None and read is not None and read["status"] != "paid":
                self.tally.record("read order", False, read["status"], "a paid order not read as paid")


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = Counter()
        self.succeeded = Counter()
        self.failed = Counter()
        self.failures = []
        self.key_ids = Counter()

    def record(self, name, ok, status, text):
        with self.lock:
            self.requests[name] += 1
            if ok:
                self.succeeded[name] += 1
            else:
                self.failed[f"{name} {status}"] += 1
                if len(self.failures) < 20:
                    self.failures.append({"at": time.strftime("%H:%M:%S"), "request": name,
                                          "status": status, "body": text[:300]})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", default="127.0.0.1:8080")
    parser.add_argument("--product", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("emails", nargs="+")
    args = parser.parse_args()
    tally = Tally()
    workers = [Worker(args.gateway, email, args.product, args.stop_file, tally) for email in args.emails]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    report = {
        "seconds": round(time.monotonic() - started, 1),
        "requests": sum(tally.requests.values()),
        "failed": sum(tally.failed.values()),
        "by_request": dict(tally.requests),
        "succeeded_by_request": dict(tally.succeeded),
        "failed_by_request": dict(tally.failed),
        "first_failures": tally.failures,
        "logins_by_key_id": dict(tally.key_ids),
    }
    with open(args.report, "w") as out:
        json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
