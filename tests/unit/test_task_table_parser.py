"""Task breakdown tables (任务分解表) as users keep them in Excel or CSV, read and parsed without a database."""

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from shared.tasks.assignee_names import parse_assignees
from shared.tasks.table_parser import (
    ParsedItem,
    ParsedTable,
    ParsedTask,
    TableRefused,
    parse_task_table,
)
from shared.tasks.table_reader import TableUnreadable, read_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZHONGSHAN_XLSX = FIXTURES / "zhongshan-xiqu-tasks.xlsx"
WENZHOU_TABLE = FIXTURES / "wenzhou-responsibility-table.txt"
ZHONGSHAN_TSV = FIXTURES / "zhongshan-xiqu-tasks.tsv"
ZHONGSHAN_HEADER = ["序号", "工作任务", "具体内容", "责任单位", "完成时间"]


def xlsx_bytes(rows: list[list[str | None]], *, merges: tuple[str, ...] = (), blank_first_sheet: bool = False) -> bytes:
    """An xlsx file holding the rows on one sheet, with the given ranges merged."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if blank_first_sheet:
        sheet.title = "说明"
        sheet.append(["本表为任务分解表"])
        sheet = workbook.create_sheet("任务分解表")
    for row in rows:
        sheet.append(row)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def seed_table_rows(path: Path) -> list[list[str]]:
    """The 责任分解表 as the seed text lays it out: each cell a tab-indented line, wrapped lines continuing it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("\t项目")
    cells: list[str] = []
    blank_before = False
    for line in lines[start:]:
        if line.startswith("\t"):
            cells.append(line[1:])
        elif line.strip():
            if blank_before and len(cells) % 5 == 0:
                break
            cells[-1] += "\n" + line
        blank_before = not line.strip()
    return [cells[index : index + 5] for index in range(0, len(cells), 5)]


def merged_down(rows: list[list[str]], column: int) -> tuple[list[list[str | None]], list[str]]:
    """Merge each filled cell of a column over the empty cells below it, as users lay out 项目 and 工作任务."""
    letter = "ABCDE"[column]
    merges: list[str] = []
    start: int | None = None
    for index in range(1, len(rows) + 1):
        filled = index == len(rows) or rows[index][column]
        if filled:
            if start is not None and index - 1 > start:
                merges.append(f"{letter}{start + 1}:{letter}{index}")
            start = index
    return [[cell or None for cell in row] for row in rows], merges


def copied_down(rows: list[list[str]], columns: tuple[int, ...]) -> list[list[str]]:
    """Copy each filled cell of the columns into the empty cells below it (a table without merged cells)."""
    copied = [list(row) for row in rows]
    for column in columns:
        for index in range(2, len(copied)):
            copied[index][column] = copied[index][column] or copied[index - 1][column]
    return copied


def items_by_code(table: ParsedTable) -> dict[str, ParsedItem]:
    return {item.code: item for task in table.tasks for item in task.items}


def tasks_by_code(table: ParsedTable) -> dict[str, ParsedTask]:
    return {task.code: task for task in table.tasks}


def leads(item: ParsedItem) -> list[str]:
    return [assignee.name for assignee in item.assignees if assignee.is_lead]


def names(item: ParsedItem) -> list[str]:
    return [assignee.name for assignee in item.assignees]


def refusal(rows: list[list[str | None]]) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(TableRefused) as caught:
        parse_task_table(rows)
    return [(error.row, error.column, error.message) for error in caught.value.errors]


@pytest.fixture(scope="module")
def zhongshan() -> ParsedTable:
    return parse_task_table(read_table(content=ZHONGSHAN_XLSX.read_bytes(), filename=ZHONGSHAN_XLSX.name))


@pytest.fixture(scope="module")
def wenzhou_rows() -> list[list[str]]:
    return seed_table_rows(WENZHOU_TABLE)


@pytest.fixture(scope="module")
def wenzhou(wenzhou_rows: list[list[str]]) -> ParsedTable:
    rows, area_merges = merged_down(wenzhou_rows, 0)
    _, task_merges = merged_down(wenzhou_rows, 1)
    content = xlsx_bytes(rows, merges=(*area_merges, *task_merges))
    return parse_task_table(read_table(content=content, filename="温州市责任分解表.xlsx"))


def test_zhongshan_has_36_work_tasks_and_71_breakdown_items(zhongshan: ParsedTable) -> None:
    assert [task.code for task in zhongshan.tasks] == [str(number) for number in range(1, 37)]
    assert sum(len(task.items) for task in zhongshan.tasks) == 71
    assert zhongshan.areas == []
    first = zhongshan.tasks[0]
    assert (first.title, first.row, first.area_code) == ("建立和完善领导机制,落实政府创建工作主体责任", 2, None)
    assert [item.code for item in first.items] == ["1.1", "1.2", "1.3"]
    assert first.items[2].row == 4


def test_zhongshan_two_items_in_one_cell_take_their_own_deadlines(zhongshan: ParsedTable) -> None:
    items = items_by_code(zhongshan)
    assert items["10.1"].title.startswith("大力开展文化馆总分馆服务体系建设工作")
    assert items["10.2"].title.startswith("市文化馆每年组织流动演出")
    assert items["10.1"].row == items["10.2"].row == 23
    assert (items["10.1"].due.kind, items["10.1"].due.due_on) == ("year", date(2019, 12, 31))
    assert (items["10.2"].due.kind, items["10.2"].due.due_on) == ("year", date(2020, 12, 31))


def test_zhongshan_three_items_in_one_cell_pair_with_three_phrases(zhongshan: ParsedTable) -> None:
    items = items_by_code(zhongshan)
    dues = [
        (items[code].due.kind, items[code].due.starts_on, items[code].due.due_on) for code in ("12.1", "12.2", "12.3")
    ]
    assert dues == [
        ("span", date(2018, 1, 1), date(2020, 12, 31)),
        ("span", date(2019, 1, 1), date(2020, 12, 31)),
        ("year", None, date(2019, 12, 31)),
    ]
    assert items["12.3"].title == "打造有特色、有活力的城市街区阅读空间“中山书房”。"
    assert [items[code].due.due_on for code in ("14.1", "14.2", "14.3")] == [
        date(2019, 12, 31),
        date(2019, 12, 31),
        date(2020, 12, 31),
    ]


def test_zhongshan_decimals_in_text_never_split_an_item(zhongshan: ParsedTable) -> None:
    item = items_by_code(zhongshan)["9.2"]
    assert "人均藏书达到1.5册以上" in item.title
    assert "0.03册" in item.title
    assert [i.code for i in tasks_by_code(zhongshan)["9"].items] == ["9.1", "9.2"]


def test_zhongshan_assignees_split_glued_collectives(zhongshan: ParsedTable) -> None:
    items = items_by_code(zhongshan)
    assert names(items["17.2"]) == ["宣传办", "各社区"]
    assert [(a.collective, a.collective_kind) for a in items["17.2"].assignees] == [(False, None), (True, "community")]
    assert names(items["19.3"]) == ["宣传办", "工会", "团工委", "妇联", "科协", "各社区"]
    member_units = items["36.1"].assignees[1]
    assert (member_units.name, member_units.collective_kind) == ("各成员单位", "member_departments")
    assert names(items["1.2"]) == ["组织人事办", "党政办"]


def test_zhongshan_odd_numbering_and_two_years_for_one_item(zhongshan: ParsedTable) -> None:
    items = items_by_code(zhongshan)
    assert items["6.1"].title.startswith("建立公建配套公共文化设施公示和通报制度")
    assert items["33.2"].title.startswith("依据相关财政文件规定")
    assert (items["7.2"].due.kind, items["7.2"].due.starts_on, items["7.2"].due.due_on) == (
        "span",
        date(2018, 1, 1),
        date(2019, 12, 31),
    )


def test_zhongshan_seed_text_as_tsv_reads_like_the_xlsx(zhongshan: ParsedTable) -> None:
    content = ZHONGSHAN_TSV.read_bytes()
    table = parse_task_table(read_table(content=content, filename="西区任务分解表.tsv"))
    assert [(task.code, task.title) for task in table.tasks] == [(task.code, task.title) for task in zhongshan.tasks]
    assert [(i.code, i.title, i.assignees, i.due) for i in items_by_code(table).values()] == [
        (i.code, i.title, i.assignees, i.due) for i in items_by_code(zhongshan).values()
    ]


def test_wenzhou_areas_tasks_and_bracketed_item_codes(wenzhou: ParsedTable) -> None:
    assert [(area.code, area.title) for area in wenzhou.areas][:3] == [
        ("A1", "公共文化设施网络建设"),
        ("A2", "公共文化服务供给"),
        ("A3", "公共文化服务与科技融合发展"),
    ]
    assert [area.code for area in wenzhou.areas] == [f"A{number}" for number in range(1, 8)]
    tasks = tasks_by_code(wenzhou)
    assert [task.code for task in wenzhou.tasks] == [str(number) for number in range(1, 36)]
    assert tasks["1"].title.startswith("公共图书馆、文化馆(站)")
    assert (tasks["1"].area_code, tasks["2"].area_code, tasks["6"].area_code) == ("A1", "A1", "A2")
    assert tasks["12"].title.startswith("推进送电影下乡工作")
    assert [item.code for item in tasks["1"].items] == [f"1.{index}" for index in range(1, 10)]
    assert tasks["1"].items[0].title == (
        "出台温州市城市公共文化设施专项规划,保持人均占有公共文化服务设施面积达全省先进水平。"
    )


def test_wenzhou_leads_collectives_and_deadlines(wenzhou: ParsedTable) -> None:
    items = items_by_code(wenzhou)
    assert (leads(items["1.1"]), names(items["1.1"])) == (["市规划局"], ["市规划局", "市文广新局"])
    assert leads(items["1.6"]) == []
    county = items["1.9"].assignees[-1]
    assert (county.name, county.collective, county.collective_kind) == ("各县(市、区)政府", True, "district_or_county")
    assert names(items["22.1"]) == ["市委办公室", "市政府办公室", "各县(市、区)政府", "浙南产业集聚区管委会"]
    assert (items["1.2"].due.kind, items["1.2"].due.due_on) == ("month", date(2021, 12, 31))
    assert (items["1.1"].due.due_on, items["1.7"].due.due_on) == (date(2019, 10, 31), date(2020, 6, 30))
    yearly = items["2.1"].due
    assert (yearly.kind, yearly.due_on, yearly.yearly_month, yearly.yearly_day) == ("yearly", None, 12, 31)
    assert items["19.2"].due.kind == "none"


def test_wenzhou_task_without_items_keeps_its_own_assignees(wenzhou: ParsedTable) -> None:
    task = tasks_by_code(wenzhou)["35"]
    assert task.items == []
    assert [assignee.name for assignee in task.assignees][-1] == "各县(市、区)政府"
    assert (task.due.kind, task.due.due_on) == ("month", date(2020, 6, 30))
    assert tasks_by_code(wenzhou)["1"].assignees == []


def test_wenzhou_csv_with_copied_cells_reads_like_the_merged_xlsx(
    wenzhou_rows: list[list[str]],
    wenzhou: ParsedTable,
    tmp_path: Path,
) -> None:
    path = tmp_path / "温州.csv"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(copied_down(wenzhou_rows, (0, 1)))
    path.write_bytes(buffer.getvalue().encode("gb18030"))
    table = parse_task_table(read_table(content=path.read_bytes(), filename=path.name))
    assert [task.code for task in table.tasks] == [task.code for task in wenzhou.tasks]
    assert items_by_code(table) == items_by_code(wenzhou)
    assert table.areas == wenzhou.areas


def test_csv_tab_delimited_utf8_with_title_row() -> None:
    text = "\n".join(
        [
            "某区任务分解表",
            "\t".join(ZHONGSHAN_HEADER),
            "1\t完善设施网络\t1.1 建成自助图书馆, 方便群众。\t宣传办、住建局\t2019 年",
            "\t\t1.2 完善路牌标识。\t住建局\t2020年6月",
            "2\t开展文化活动\t2.1 每年开展阅读活动不少于20次。\t宣传办各社区\t每年",
        ]
    )
    table = parse_task_table(read_table(content=text.encode("utf-8-sig"), filename="tasks.csv"))
    items = items_by_code(table)
    assert list(items) == ["1.1", "1.2", "2.1"]
    assert items["1.1"].title == "建成自助图书馆, 方便群众。"
    assert (items["1.2"].row, items["1.2"].due.due_on) == (4, date(2020, 6, 30))
    assert names(items["2.1"]) == ["宣传办", "各社区"]


def test_full_width_digits_and_punctuation() -> None:
    rows: list[list[str | None]] = [
        ["项目", "工作任务", "任务分解", "责任单位", "完成时限"],
        [
            "十二、\n文化保障",
            "１２．加强经费保障。",
            "【１２．１】安排专项经费。",
            "▲市财政局，各县（市、区）政府",
            "２０１９年１０月",
        ],
        [None, None, "（２）公告资金使用。", "市财政局", "２０１８年－２０２０年"],
        [None, None, "公开年报。", "市文广新局（牵头）、市财政局等", "长期坚持"],
    ]
    table = parse_task_table(rows)
    assert [(area.code, area.title) for area in table.areas] == [("A12", "文化保障")]
    task = table.tasks[0]
    assert (task.code, task.title, task.area_code) == ("12", "加强经费保障。", "A12")
    assert [(item.code, item.title) for item in task.items] == [
        ("12.1", "安排专项经费。"),
        ("12.2", "公告资金使用。"),
        ("12.3", "公开年报。"),
    ]
    assert task.items[0].due.due_on == date(2019, 10, 31)
    assert task.items[1].due.starts_on == date(2018, 1, 1)
    assert task.items[2].due.whole_plan
    assert [(a.name, a.is_lead, a.collective_kind) for a in task.items[0].assignees] == [
        ("市财政局", True, None),
        ("各县(市、区)政府", False, "district_or_county"),
    ]
    assert [(a.name, a.is_lead) for a in task.items[2].assignees] == [("市文广新局", True), ("市财政局", False)]


def test_assignee_cells() -> None:
    parsed = parse_assignees("▲宣传办各成员单位、宣传办；各镇 / 各街道,各部门等")
    assert [(a.name, a.is_lead, a.collective_kind) for a in parsed] == [
        ("宣传办", True, None),
        ("各成员单位", False, "member_departments"),
        ("各镇", False, "town"),
        ("各街道", False, "street"),
        ("各部门", False, "departments"),
    ]
    assert [a.name for a in parse_assignees("各县（市、区）政府、各村")] == ["各县(市、区)政府", "各村"]
    assert parse_assignees(None) == []


def test_every_bad_row_is_reported_with_its_row_and_column() -> None:
    rows: list[list[str | None]] = [
        ZHONGSHAN_HEADER,
        ["1", "完善设施网络", "1.1 建成自助图书馆。", "宣传办", "尽快"],
        [None, None, "1.2 完善路牌标识。", "住建局", "2019年"],
        [None, None, "1.3", "住建局", "2019年"],
        [None, None, "1.4 加强宣传。", None, "2020年"],
        ["2", "开展文化活动", "2.1 阅读活动。 2.2 合唱活动。", "宣传办", "2018年 2019年 2020年"],
        ["3", None, "3.1 文化志愿服务。", "宣传办", "近期"],
    ]
    assert refusal(rows) == [
        (2, "完成时间", "unknown deadline phrase '尽快'"),
        (4, "具体内容", "breakdown item 1.3 has no text"),
        (5, "责任单位", "breakdown item 1.4 has no assignee"),
        (6, "完成时间", "3 deadlines for 2 breakdown items; give one, or one for each"),
        (7, "完成时间", "unknown deadline phrase '近期'"),
        (7, "工作任务", "work task 3 has no title"),
    ]


def test_task_number_on_a_later_row_of_its_block() -> None:
    rows: list[list[str | None]] = [
        ZHONGSHAN_HEADER,
        ["6", "完善配套政策", "6.1 建立公示制度。", "住建局", "2020 年"],
        [None, "促进服务标准化。", "7.1 严格执行标准。", "宣传办", "2019年"],
        ["7", None, "7.2 落实免费开放。", "宣传办 各社区", "2018年"],
    ]
    table = parse_task_table(rows)
    assert [(task.code, [item.code for item in task.items]) for task in table.tasks] == [
        ("6", ["6.1"]),
        ("7", ["7.1", "7.2"]),
    ]


def test_heading_rows_merged_across_the_table_start_areas() -> None:
    rows: list[list[str | None]] = [
        ["西区任务分解表", "西区任务分解表", "西区任务分解表", "西区任务分解表", "西区任务分解表"],
        ZHONGSHAN_HEADER,
        ["一、组织保障"] * 5,
        ["1", "建立领导机制", "1.1 成立领导小组。", "宣传办", "2018年"],
        ["二、设施建设"] * 5,
        ["2", "完善设施", "建成文化站。", "住建局", "2019年"],
        ZHONGSHAN_HEADER,
        [None, None, "完善路牌。", "住建局", "2020年"],
    ]
    table = parse_task_table(rows)
    assert [(area.code, area.title, area.row) for area in table.areas] == [
        ("A1", "组织保障", 3),
        ("A2", "设施建设", 5),
    ]
    assert [(task.code, task.area_code) for task in table.tasks] == [("1", "A1"), ("2", "A2")]
    assert [item.code for item in table.tasks[1].items] == ["2.1", "2.2"]


def test_xlsx_merged_cells_and_header_on_a_later_sheet() -> None:
    rows: list[list[str | None]] = [
        ZHONGSHAN_HEADER,
        ["1", "完善设施网络", "1.1 建成自助图书馆。", "宣传办", "2019年"],
        [None, None, "1.2 完善路牌标识。", None, "2020年"],
    ]
    content = xlsx_bytes(rows, merges=("A2:A3", "B2:B3", "D2:D3"), blank_first_sheet=True)
    read = read_table(content=content, filename="tasks.xlsx")
    assert read[2] == ["1", "完善设施网络", "1.2 完善路牌标识。", "宣传办", "2020年"]
    table = parse_task_table(read)
    assert [names(item) for item in table.tasks[0].items] == [["宣传办"], ["宣传办"]]


def test_no_header_is_refused() -> None:
    rows: list[list[str | None]] = [["编号", "内容", "备注"], ["1", "建成自助图书馆", "2019年"]]
    [(row, column, message)] = refusal(rows)
    assert (row, column) == (None, None)
    assert message.startswith("no recognisable header")


def test_not_an_xlsx_is_unreadable() -> None:
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    for content in (other_zip.getvalue(), "序号,工作任务".encode(), b""):
        with pytest.raises(TableUnreadable) as caught:
            read_table(content=content, filename="tasks.xlsx")
        assert "not a valid xlsx" in caught.value.message


def test_undecodable_csv_is_unreadable() -> None:
    with pytest.raises(TableUnreadable):
        read_table(content=b"\xff\xfe\x00\x01binary", filename="tasks.csv")
    with pytest.raises(TableUnreadable):
        read_table(content=b"\x81\x20\xff\xff", filename="tasks.csv")
