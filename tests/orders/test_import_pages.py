"""Orders through the import pages and the import API (kind "orders")."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from laoke.imports import service as imports
from laoke.orders.models import Order
from tests.conftest import csrf_from
from tests.imports.files import csv_file
from tests.orders.test_import import SHOP_HEADER, SHOP_ROWS

DETECTED = [
    "order_number",
    "ordered_at",
    "phones",
    "product_name",
    "quantity",
    "unit_price",
    "amount",
    "status",
    "channel",
    "notes",
    "custom",
]


def test_the_upload_form_offers_orders_and_the_preview_fits_them(
    cast, shop, browser_of, database, tmp_path
) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/imports")
    assert '<option value="orders">' in page.text
    content = csv_file(tmp_path / "o.csv", [SHOP_HEADER, *SHOP_ROWS], encoding="gbk").read_bytes()
    uploaded = alice.post(
        "/imports",
        data={"csrf_token": csrf_from(page.text), "kind": "orders"},
        files={"file": ("订单.csv", content, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    job_url = uploaded.headers["location"]
    preview = alice.get(job_url).text
    assert re.search(r'name="column_0".*?<option value="order_number" selected', preview, re.S)
    assert 'data-test="policy-fill"' not in preview and "订单号会跳过" in preview
    form = {"csrf_token": csrf_from(preview), "policy": "skip", "date_order": ""}
    form |= {f"column_{i}": target for i, target in enumerate(DETECTED)}
    confirmed = alice.post(f"{job_url}/confirm", data=form, follow_redirects=False)
    assert confirmed.status_code == 303
    imports.wait_for(int(job_url.rsplit("/", 1)[1]), timeout=30)
    done = alice.get(job_url).text
    assert re.search(r'data-test="inserted">3<', done) and "新订单" in done
    assert "客户池中没有手机号为 13900000009 的客户。" in done
    with database.unit_of_work(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 3


def test_an_unknown_kind_is_refused(cast, browser_of, tmp_path) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/imports")
    response = alice.post(
        "/imports",
        data={"csrf_token": csrf_from(page.text), "kind": "rockets"},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 404


def test_the_api_imports_orders(cast, shop, api_of, database, tmp_path) -> None:
    content = csv_file(tmp_path / "o.csv", [SHOP_HEADER, *SHOP_ROWS], encoding="gbk").read_bytes()
    api = api_of(cast.maggie)
    response = api.post("/api/v1/imports/orders", files={"file": ("o.csv", content)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "orders" and body["mapping"][0] == "order_number"
    imports.wait_for(body["id"], timeout=30)
    finished = api.get(f"/api/v1/imports/{body['id']}").json()
    assert (finished["status"], finished["inserted"], finished["rejected"]) == ("done", 3, 2)
    assert (
        api_of(cast.victor)
        .post("/api/v1/imports/orders", files={"file": ("o.csv", content)})
        .status_code
        == 403
    )
    again = api.post("/api/v1/imports/orders", files={"file": ("o.csv", content)}).json()
    imports.wait_for(again["id"], timeout=30)
    repeat = api.get(f"/api/v1/imports/{again['id']}").json()
    assert (repeat["inserted"], repeat["skipped"]) == (0, 4)
