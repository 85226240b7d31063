"""Seeds a running shop for bench/throughput.sh and reads back what the run did.

    python3 bench/seed.py seed BASE_URL OUT_DIR PRODUCTS STOCK
        logs in the admin (made by `shop create-admin` beforehand), creates
        PRODUCTS products with STOCK units each, registers and logs in a buyer;
        writes OUT_DIR/products.txt (one id per line), admin.token, buyer.token.
    python3 bench/seed.py pending BASE_URL OUT_DIR
        writes OUT_DIR/pending.txt: the buyer's orders still pending payment.
    python3 bench/seed.py audit BASE_URL OUT_DIR PRODUCTS STOCK
        prints "orders=N units=U taken=T paid=P": orders placed, units they
        ordered, stock taken from the catalog, orders paid.

Standard library only, one keep-alive connection: seeding 2,000 products
takes a few seconds.
"""

import http.client
import json
import random
import sys
import urllib.parse

ADMIN = ("admin@example.com", "bench admin pw 1")
BUYER = ("buyer@example.com", "bench buyer pw 1")


class Client:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def call(self, method, path, body=None, token=None, ok=(200, 201, 204)):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        text = response.read()
        if response.status not in ok:
            raise SystemExit(f"{method} {path}: {response.status} {text[:300]!r}")
        return json.loads(text) if text else None

    def login(self, email, password):
        return self.call("POST", "/api/v1/auth/login", {"email": email, "password": password})["access_token"]

    def pages(self, path, token=None):
        """Every item of a paginated list."""
        page, items = 1, []
        while True:
            sep = "&" if "?" in path else "?"
            got = self.call("GET", f"{path}{sep}per_page=100&page={page}", token=token)
            items += got["items"]
            if page * got["per_page"] >= got["total"]:
                return items
            page += 1


def seed(client, out, products, stock):
    admin = client.login(*ADMIN)
    rng = random.Random(7)
    ids = []
    for i in range(products):
        product = {
            "sku": f"BENCH-{i:05d}",
            "name": f"Bench product {i:05d}",
            "description": "A product of the benchmark catalog.",
            "price_cents": rng.randint(100, 100_000),
            "stock": stock,
        }
        ids.append(client.call("POST", "/api/v1/catalog/products", product, admin)["id"])
    client.call("POST", "/api/v1/auth/register", {"email": BUYER[0], "password": BUYER[1], "name": "Buyer"})
    buyer = client.login(*BUYER)
    write(out, "products.txt", "\n".join(ids) + "\n")
    write(out, "admin.token", admin)
    write(out, "buyer.token", buyer)


def pending(client, out):
    buyer = read(out, "buyer.token")
    orders = client.pages("/api/v1/orders", buyer)
    ids = [o["id"] for o in orders if o["status"] == "pending_payment"]
    write(out, "pending.txt", "\n".join(ids) + "\n")


def audit(client, out, products, stock):
    admin = read(out, "admin.token")
    orders = client.pages("/api/v1/orders", admin)
    units = sum(item["quantity"] for order in orders for item in order["items"])
    paid = sum(1 for order in orders if order["status"] == "paid")
    left = sum(p["stock"] for p in client.pages("/api/v1/catalog/products"))
    print(f"orders={len(orders)} units={units} taken={products * stock - left} paid={paid}")


def write(out, name, text):
    with open(f"{out}/{name}", "w") as f:
        f.write(text)


def read(out, name):
    with open(f"{out}/{name}") as f:
        return f.read().strip()


def main():
    command, base, out = sys.argv[1:4]
    client = Client(base)
    if command == "seed":
        seed(client, out, int(sys.argv[4]), int(sys.argv[5]))
    elif command == "pending":
        pending(client, out)
    elif command == "audit":
        audit(client, out, int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
