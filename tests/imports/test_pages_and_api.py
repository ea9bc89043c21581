"""Import pages and API: upload, preview, confirm, progress, summary, report; who may."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from laoke.imports import service
from tests.conftest import csrf_from
from tests.customers.importing import HEADER
from tests.imports.files import csv_file

ROWS = [
    ["客户资料"],
    HEADER,
    ["王丽", "138 1234 5678", "wx_wangli", "", "1990-05-03", "女", "VIP", "", "干性"],
    ["王丽", "13812345678", "", "wl@qq.com", "", "", "宝妈", "", ""],
    ["", "13700000000", "", "", "", "", "", "", "=1+1"],
]


@pytest.fixture
def sheet(tmp_path) -> bytes:
    return csv_file(tmp_path / "c.csv", ROWS, encoding="gbk").read_bytes()


def _upload(client, content: bytes, name: str = "客户.csv"):
    page = client.get("/imports")
    return client.post(
        "/imports",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": (name, content, "text/csv")},
        follow_redirects=False,
    )


def test_upload_preview_confirm_progress_summary_and_report(cast, browser_of, sheet) -> None:
    alice = browser_of(cast.alice)
    assert 'data-test="nav-imports"' in alice.get("/customers").text
    uploaded = _upload(alice, sheet)
    assert uploaded.status_code == 303
    job_url = uploaded.headers["location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    preview = alice.get(job_url).text
    assert "核对各列" in preview and "表头在第 2 行" in preview
    assert re.search(r'name="column_1".*?<option value="phones" selected', preview, re.S)
    assert re.search(r'name="column_8".*?<option value="custom" selected', preview, re.S)
    form = {"csrf_token": csrf_from(preview), "policy": "fill", "date_order": ""}
    form |= {
        f"column_{i}": t
        for i, t in enumerate(
            [
                "name",
                "phones",
                "wechat_id",
                "email",
                "birthday",
                "gender",
                "tags",
                "owner",
                "ignore",
            ]
        )
    }
    confirmed = alice.post(f"{job_url}/confirm", data=form, follow_redirects=False)
    assert confirmed.status_code == 303
    service.wait_for(job_id, timeout=30)
    done = alice.get(job_url).text
    assert 'data-test="summary"' in done
    assert re.search(r'data-test="inserted">1<', done) and re.search(
        r'data-test="duplicates">1<', done
    )
    assert "缺少姓名。" in done
    progress = alice.get(f"{job_url}/progress")
    assert progress.status_code == 204 and progress.headers["HX-Refresh"] == "true"
    report = alice.get(f"{job_url}/report.xlsx")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "行号" and [r[0] for r in rows[1:]] == [4, 5]
    assert rows[2][-1] == "'=1+1"  # the ignored column is still in the report, neutralised
    english = alice.post(
        "/settings/language", data={"csrf_token": csrf_from(done), "language": "en"}
    )
    assert english.status_code in (200, 303)
    csv_report = alice.get(f"{job_url}/report.csv").content.decode("utf-8-sig")
    assert csv_report.startswith("Row,Result,Reason") and "The name is missing." in csv_report
    listing = alice.get("/imports").text
    assert f"/imports/{job_id}" in listing


def test_an_unreadable_upload_gets_a_page_saying_why(cast, browser_of) -> None:
    response = _upload(browser_of(cast.alice), bytes(range(256)) * 50, "garbage.csv")
    assert response.status_code == 422
    assert "二进制文件" in response.text


def test_a_viewer_has_no_import_page_and_others_see_no_foreign_jobs(
    cast, browser_of, sheet
) -> None:
    victor = browser_of(cast.victor)
    assert 'data-test="nav-imports"' not in victor.get("/customers").text
    assert victor.get("/imports").status_code == 403
    job_url = _upload(browser_of(cast.bob), sheet).headers["location"]
    assert browser_of(cast.oscar).get(job_url).status_code == 404
    assert browser_of(cast.carol).get(job_url).status_code == 404
    assert browser_of(cast.maggie).get(job_url).status_code == 200


def test_a_salesperson_is_told_their_imports_are_theirs(cast, browser_of, sheet) -> None:
    bob = browser_of(cast.bob)
    preview = bob.get(_upload(bob, sheet).headers["location"]).text
    assert "您导入的客户都归您负责" in preview and 'name="default_owner_id"' not in preview


def test_api_upload_status_and_report(cast, api_of, sheet) -> None:
    api = api_of(cast.maggie)
    created = api.post(
        "/api/v1/imports/customers",
        files={"file": ("c.csv", sheet, "text/csv")},
        data={"policy": "fill", "mapping": '{"肤质": "ignore"}'},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "queued" and body["mapping"][-1] == "ignore"
    service.wait_for(body["id"], timeout=30)
    status = api.get(f"/api/v1/imports/{body['id']}").json()
    assert (
        status["status"],
        status["read"],
        status["inserted"],
        status["duplicates_in_file"],
        status["rejected"],
    ) == ("done", 3, 1, 1, 1)
    report = api.get(status["report_urls"]["csv"])
    assert report.status_code == 200 and report.content.startswith(b"\xef\xbb\xbf")
    assert api_of(cast.oscar).get(f"/api/v1/imports/{body['id']}").status_code == 404
    assert [j["id"] for j in api.get("/api/v1/imports").json()] == [body["id"]]


def test_api_two_step_import_with_a_mapping_list(cast, api_of, sheet) -> None:
    api = api_of(cast.alice)
    pending = api.post(
        "/api/v1/imports/customers", files={"file": ("c.csv", sheet)}, data={"start": "false"}
    ).json()
    assert pending["status"] == "pending" and pending["header_row"] == 2
    bad = api.post(f"/api/v1/imports/{pending['id']}/confirm", json={"mapping": ["name"]})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_mapping"
    mapping = ["name", "phones"] + ["ignore"] * (len(HEADER) - 2)
    ok = api.post(f"/api/v1/imports/{pending['id']}/confirm", json={"mapping": mapping})
    assert ok.status_code == 200 and ok.json()["status"] == "queued"
    service.wait_for(pending["id"], timeout=30)
    assert api.get(f"/api/v1/imports/{pending['id']}").json()["inserted"] == 1


def test_api_refusals_are_problem_details(cast, api_of, app, sheet) -> None:
    assert (
        api_of(cast.victor)
        .post("/api/v1/imports/customers", files={"file": ("c.csv", sheet)})
        .status_code
        == 403
    )
    app.state.settings.upload_max_bytes = 2048
    big = api_of(cast.alice).post(
        "/api/v1/imports/customers", files={"file": ("c.csv", b"x" * 10_000)}
    )
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("application/problem+json")
    assert big.json()["code"] == "file_too_large"


def test_a_running_import_shows_progress_that_polls_and_an_interrupted_one_offers_resume(
    cast, browser_of, database, settings, sheet
) -> None:
    import socket

    from laoke.db import utcnow
    from laoke.imports.models import ImportJob, JobStatus

    alice = browser_of(cast.alice)
    job_url = _upload(alice, sheet).headers["location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    with database.unit_of_work() as session:
        # Running in another server process that committed a batch just now.
        job = session.get(ImportJob, job_id)
        job.status, job.rows_read, job.progress = JobStatus.RUNNING, 2, 0.4
        job.worker, job.heartbeat_at = "another-host:1", utcnow()
        session.commit()
    page = alice.get(job_url).text
    assert 'data-test="progress"' in page and 'hx-trigger="every 1s"' in page
    partial = alice.get(f"{job_url}/progress", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "已读取 2 行" in partial.text
    with database.unit_of_work() as session:
        # A worker on this host whose process is gone: the page offers to resume.
        session.get(ImportJob, job_id).worker = f"{socket.gethostname()}:999999"
        session.commit()
    page = alice.get(job_url).text
    assert 'data-test="interrupted"' in page and "第 0 行之后中断" in page
    resumed = alice.post(
        f"{job_url}/resume", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert resumed.status_code == 303
    service.wait_for(job_id, timeout=30)
    assert 'data-test="summary"' in alice.get(job_url).text
