"""Reading spreadsheets: formats, encodings, header rows, merged headers, row numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from laoke.customers.import_catalogue import CUSTOMER_FIELDS
from laoke.imports.readers import SheetNotFound, cell_text, column_letter, open_table
from laoke.imports.safety import FileKind, UnreadableFile
from tests.imports.files import FIXTURES, csv_file, ods, xlsx

ROWS = [
    ["客户名单（2024 年 3 月导出）"],
    [],
    ["姓名", "手机", "地址", "标签"],
    ["王丽", "138 1234 5678", "上海市浦东新区人民路1号", "VIP，宝妈"],
    [],
    ["陳美玲", "0912-345-678", "臺北市中正區", "新客"],
]


def read(path: Path, **kwargs):
    reader = open_table(path, header_score=CUSTOMER_FIELDS.is_known, **kwargs)
    with reader:
        return reader.info, list(reader.rows())


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False), ("big5", False)],
)
def test_text_tables_in_every_chinese_encoding_read_the_same(tmp_path, encoding, bom) -> None:
    rows = [[c.replace("陳美玲", "陳美玲") for c in row] for row in ROWS]
    if encoding in ("gbk", "gb18030"):
        rows[5] = ["陈美玲", "0912-345-678", "台北市中正区", "新客"]
    if encoding == "big5":
        rows = [
            ["客戶名單"],
            [],
            ["姓名", "聯絡電話", "地址", "標籤"],
            ["王麗", "0912-345-678", "臺北市中正區", "新客"],
        ]
    path = csv_file(tmp_path / "customers.csv", rows, encoding=encoding, bom=bom)
    info, data = read(path)
    assert info.kind is FileKind.TEXT
    assert info.header_row == 3
    assert info.headers == rows[2]
    assert data[0] == (4, rows[3])


def test_big5_and_gbk_bytes_are_told_apart(tmp_path) -> None:
    traditional = csv_file(
        tmp_path / "tw.csv",
        [["姓名", "聯絡電話", "收貨地址"], ["陳美玲", "0912345678", "高雄市前鎮區中華五路"]],
        encoding="big5",
    )
    simplified = csv_file(
        tmp_path / "cn.csv",
        [["姓名", "联系电话", "收货地址"], ["陈美玲", "13912345678", "广州市天河区体育西路"]],
        encoding="gbk",
    )
    assert read(traditional)[0].encoding == "cp950"
    assert read(traditional)[1][0][1][0] == "陳美玲"
    assert read(simplified)[0].encoding == "gb18030"
    assert read(simplified)[1][0][1][2] == "广州市天河区体育西路"


def test_tab_and_semicolon_separated_files(tmp_path) -> None:
    tsv = csv_file(tmp_path / "a.tsv", ROWS[2:4], delimiter="\t")
    semi = csv_file(tmp_path / "b.csv", ROWS[2:4], delimiter=";")
    assert read(tsv)[1] == [(2, ROWS[3])]
    assert read(semi)[0].delimiter == ";"


def test_xlsx_with_title_rows_blank_rows_and_numbers(tmp_path) -> None:
    rows = [list(r) for r in ROWS]
    rows[3][1] = 13812345678  # typed into a number cell
    info, data = read(xlsx(tmp_path / "c.xlsx", rows))
    assert info.kind is FileKind.XLSX and info.header_row == 3
    assert data == [
        (4, ["王丽", "13812345678", "上海市浦东新区人民路1号", "VIP，宝妈"]),
        (6, ["陳美玲", "0912-345-678", "臺北市中正區", "新客"]),
    ]


def test_a_merged_header_cell_names_both_columns(tmp_path) -> None:
    rows = [
        ["客户名单"],
        ["姓名", "联系方式", None, "备注"],
        ["王丽", "13812345678", "010-88886666", "x"],
    ]
    path = xlsx(tmp_path / "m.xlsx", rows, merged=["B2:C2"])
    info, data = read(path)
    assert info.headers == ["姓名", "联系方式", "联系方式 (2)", "备注"]
    assert CUSTOMER_FIELDS.detect(info.headers) == ["name", "phones", "phones", "notes"]
    assert data == [(3, ["王丽", "13812345678", "010-88886666", "x"])]


def test_a_merged_header_saved_as_csv_still_names_the_blank_column(tmp_path) -> None:
    rows = [["姓名", "联系方式", "", "备注"], ["王丽", "13812345678", "010-88886666", ""]]
    info, _ = read(csv_file(tmp_path / "m.csv", rows))
    assert info.headers[:3] == ["姓名", "联系方式", "联系方式 (2)"]


def test_a_sheet_starting_further_right_keeps_true_column_letters(tmp_path) -> None:
    rows = [
        [None, None, "姓名", "手机", None, None],
        [None, None, "王丽", "13812345678", None, "孤儿值"],
    ]
    info, data = read(xlsx(tmp_path / "r.xlsx", rows))
    assert info.headers[:2] == ["姓名", "手机"]
    assert data[0][0] == 2 and data[0][1][:2] == ["王丽", "13812345678"]
    assert "孤儿值" in data[0][1]  # a value under no header is still handed on


def test_ods_and_xls_files(tmp_path) -> None:
    info, data = read(ods(tmp_path / "c.ods", ROWS))
    assert info.kind is FileKind.ODS and info.header_row == 3 and data[0][0] == 4
    info, data = read(FIXTURES / "customers.xls")
    assert info.kind is FileKind.XLS
    assert info.sheet == "客户"  # not the notes sheet in front of it
    assert data == [
        (4, ["王丽", "13812345678", "32631", "VIP，宝妈"]),
        (5, ["陳美玲", "+86 139-1234-5678", "1990年5月3日", "新客"]),
    ]


def test_the_sheet_with_our_headers_is_chosen_and_another_can_be_named(tmp_path) -> None:
    path = xlsx(
        tmp_path / "s.xlsx",
        ROWS,
        sheets={"汇总": [["月份", "新客数"], ["1月", 30]]},
    )
    assert read(path)[0].sheet == "客户"
    assert read(path, sheet="汇总")[0].headers == ["月份", "新客数"]
    with pytest.raises(SheetNotFound):
        read(path, sheet="没有这个表")


def test_rows_after_a_checkpoint(tmp_path) -> None:
    path = csv_file(tmp_path / "c.csv", [["姓名", "手机"]] + [[f"客户{i}", ""] for i in range(10)])
    with open_table(path) as reader:
        assert [n for n, _ in reader.rows(after=7)] == [8, 9, 10, 11]


def test_binary_garbage_named_csv_is_refused(tmp_path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(UnreadableFile):
        read(path)


def test_cells_read_as_people_see_them() -> None:
    from datetime import date, datetime

    assert cell_text(13812345678.0) == "13812345678"
    assert cell_text(1.5) == "1.5"
    assert cell_text(datetime(1990, 5, 3)) == "1990-05-03"
    assert cell_text(date(1990, 5, 3)) == "1990-05-03"
    assert cell_text(True) == "TRUE"
    assert [column_letter(i) for i in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
