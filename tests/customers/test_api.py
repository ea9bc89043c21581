"""The customers JSON API: contract, authorisation, problem details, hostile input."""

from __future__ import annotations

import pytest

from tests.conftest import all_routes


def create(api, **body):
    return api.post("/api/v1/customers", json={"name": "王丽", **body})


def test_it_creates_and_reads_back_the_contract_fields(cast, api_of) -> None:
    api = api_of(cast.alice)
    response = create(api, phones=["138 1234 5678", "010-8888 6666"], tags=["VIP"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phones"] == ["+8613812345678", "+861088886666"]
    assert body["tags"] == ["VIP"] and body["owner_id"] == cast.alice.id
    assert {"id", "name", "phones", "tags", "owner_id", "created_at"} <= body.keys()
    again = api.get(f"/api/v1/customers/{body['id']}").json()
    assert again == body


def test_a_duplicate_phone_answers_409_with_a_stable_code(cast, api_of) -> None:
    api = api_of(cast.alice)
    assert create(api, phones=["13812345678"]).status_code == 201
    response = create(api, name="李娜", phones=["+86 138-1234-5678"])
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "duplicate_phone" and problem["status"] == 409 and problem["detail"]


def test_search_paging_and_tag_filter(cast, api_of) -> None:
    api = api_of(cast.alice)
    for index in range(25):
        create(
            api,
            name=f"客户{index:02d}",
            phones=[f"1381234{index:04d}"],
            tags=["VIP"] if index % 2 else [],
        )
    page = api.get("/api/v1/customers", params={"q": "客户", "page": 2, "per_page": 10}).json()
    assert (page["total"], page["page"], page["pages"], len(page["items"])) == (25, 2, 3, 10)
    assert api.get("/api/v1/customers", params={"tag": "VIP"}).json()["total"] == 12
    assert (
        api.get("/api/v1/customers", params={"q": "12340007"}).json()["items"][0]["name"]
        == "客户07"
    )


def test_patch_changes_only_given_fields_and_delete_erases(cast, api_of) -> None:
    api = api_of(cast.alice)
    created = create(api, phones=["13812345678"], email="wl@qq.com").json()
    patched = api.patch(
        f"/api/v1/customers/{created['id']}", json={"nickname": "丽丽", "tags": ["新客"]}
    ).json()
    assert (patched["nickname"], patched["tags"], patched["email"], patched["phones"]) == (
        "丽丽",
        ["新客"],
        "wl@qq.com",
        ["+8613812345678"],
    )
    assert api.delete(f"/api/v1/customers/{created['id']}").status_code == 204
    erased = api.get(f"/api/v1/customers/{created['id']}").json()
    assert erased["erased"] and erased["phones"] == [] and erased["email"] is None


def test_a_viewer_sees_masked_phones_and_cannot_write(cast, api_of) -> None:
    created = create(api_of(cast.alice), phones=["13812345678"], email="wangli@qq.com").json()
    viewer = api_of(cast.victor)
    seen = viewer.get(f"/api/v1/customers/{created['id']}").json()
    assert (
        seen["phones"] == ["138****5678"]
        and seen["phones_masked"]
        and seen["email"] == "w***@qq.com"
    )
    assert create(viewer, name="x").status_code == 403
    assert viewer.patch(f"/api/v1/customers/{created['id']}", json={"name": "x"}).status_code == 403
    assert viewer.post(f"/api/v1/customers/{created['id']}/reveal").status_code == 403


def test_a_salesperson_gets_nothing_of_a_colleagues_customers(cast, api_of) -> None:
    carols = create(api_of(cast.carol), phones=["13812345678"]).json()
    bob = api_of(cast.bob)
    assert bob.get("/api/v1/customers").json()["total"] == 0
    assert bob.get("/api/v1/customers", params={"q": "5678"}).json()["total"] == 0
    for method, path in [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/reveal"),
        ("post", "/merge"),
    ]:
        kwargs = (
            {"json": {"name": "x"}}
            if method == "patch"
            else {"json": {"other_id": carols["id"]}}
            if path == "/merge"
            else {}
        )
        response = getattr(bob, method)(f"/api/v1/customers/{carols['id']}{path}", **kwargs)
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert response.status_code == 404 or method in ("delete", "post")


def test_another_tenants_records_answer_404(cast, api_of) -> None:
    theirs = create(api_of(cast.oscar), phones=["13812345678"]).json()
    alice = api_of(cast.alice)
    assert alice.get(f"/api/v1/customers/{theirs['id']}").status_code == 404
    assert alice.patch(f"/api/v1/customers/{theirs['id']}", json={"name": "x"}).status_code == 404
    assert alice.delete(f"/api/v1/customers/{theirs['id']}").status_code == 404
    assert alice.post(f"/api/v1/customers/{theirs['id']}/reveal").status_code == 404
    mine = create(alice).json()
    assert (
        alice.post(
            f"/api/v1/customers/{mine['id']}/merge", json={"other_id": theirs["id"]}
        ).status_code
        == 404
    )
    # and the number is still free in alice's tenant
    assert create(alice, name="李娜", phones=["13812345678"]).status_code == 201


def test_merge_via_api(cast, api_of) -> None:
    api = api_of(cast.alice)
    kept = create(api, phones=["13812345678"]).json()
    dup = create(api, phones=["13987654321"], wechat_id="wx_1").json()
    result = api.post(f"/api/v1/customers/{kept['id']}/merge", json={"other_id": dup["id"]}).json()
    assert result["kept_id"] == kept["id"] and result["merged_id"] == dup["id"]
    assert api.get(f"/api/v1/customers/{kept['id']}").json()["phones"] == [
        "+8613812345678",
        "+8613987654321",
    ]


def test_requests_without_a_valid_token_are_refused(client, cast) -> None:
    assert client.get("/api/v1/customers").status_code == 401
    bad = client.get("/api/v1/customers", headers={"Authorization": "Bearer lk_nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "bad_token"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "王丽", "phones": "13812345678"},
        {"name": "王丽", "phones": ["not-a-phone"]},
        {"name": "王丽", "phones": ["13812345678"] * 11},
        {"name": "王丽", "email": "no-at-sign"},
        {"name": "王丽", "birthday": "1990-13-45"},
        {"name": "王丽", "gender": "robot"},
        {"name": "王丽", "owner_id": "admin"},
        {"name": "王丽", "unknown_field": 1},
        {"name": "王丽", "tags": ["x" * 51]},
        {"name": "王丽", "custom_attributes": {"": "empty key"}},
        {"name": "王丽", "custom_attributes": {"nested": {"a": 1}}},
    ],
)
def test_malformed_input_gets_a_422_problem_and_writes_nothing(cast, api_of, body) -> None:
    api = api_of(cast.alice)
    response = api.post("/api/v1/customers", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("invalid", "invalid_phone")
    assert api.get("/api/v1/customers").json()["total"] == 0


def test_hostile_text_is_stored_verbatim_and_escaped_on_pages(cast, api_of, browser_of) -> None:
    payload = "<script>alert(1)</script>'; DROP TABLE customers; --"
    created = create(api_of(cast.alice), name=payload, needs=payload).json()
    assert created["name"] == payload
    page = browser_of(cast.alice).get(f"/customers/{created['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_non_json_and_oversized_bodies_are_rejected(cast, api_of) -> None:
    api = api_of(cast.alice)
    assert (
        api.post(
            "/api/v1/customers",
            content=b"\xff\xfe garbage",
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )
    assert (
        api.post("/api/v1/customers", json={"name": "王丽", "needs": "x" * 6000}).status_code == 422
    )


def test_openapi_describes_every_json_route(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    api_routes = [r for r in all_routes(client.app) if r.path.startswith("/api/")]
    assert len(api_routes) >= 8
    for route in api_routes:
        path = route.path
        if path:
            assert path in paths, path
            for method in route.methods - {"HEAD"}:
                assert paths[path][method.lower()].get("summary"), (method, path)
    assert client.get("/healthz").json()["status"] == "ok"
