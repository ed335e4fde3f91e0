"""The assessment workbook: its layout, writing it, and reading a filled one back safely.

Plain data in, plain data out: no database here. The layout is a pure function of the
catalogue (and the language of its texts), so the importer rebuilds exactly what the
exporter wrote and can tell which protected cells were changed. docs/exchange-format.md
describes the layout for people.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from app.assessments.models import Confidence, Response
from app.assessments.schemas import AnswerInput
from app.catalogue.schema import Catalogue, UnknownPolicy
from app.core.errors import Invalid

FORMAT = "gsr-assess/workbook"
FORMAT_VERSION = 1
README_SHEET = "Read me"
DATA_SHEET = "gsr-data"

# Package limits, checked before any XML is parsed. A workbook exported by this
# application unpacks to well under 1 MB, and Excel or LibreOffice re-saving it adds little.
MAX_ENTRIES = 300
MAX_UNPACKED_BYTES = 30 * 1024 * 1024
MAX_DATA_ROWS = 5_000
# Excel shows at most this many characters in a cell.
CELL_LIMIT = 32_767

NOT_APPLICABLE = "Not applicable"
UNKNOWN = "Unknown"
CONFIDENCE_LABELS = {
    Confidence.SELF_REPORTED: "Self-reported",
    Confidence.DOCUMENTED: "Documented",
    Confidence.VERIFIED: "Verified",
}
CONFIDENCE_HELP = {
    Confidence.SELF_REPORTED: "the answer rests on the knowledge of the people answering",
    Confidence.DOCUMENTED: "documents support the answer (laws, plans, reports, budgets)",
    Confidence.VERIFIED: "someone independent has checked the answer or its evidence",
}

# The columns of an area sheet.
REF, QUESTION, LEVELS, ANSWER, JUSTIFICATION, NOTES, LINKS, CONFIDENCE, TARGET = "ABCDEFGHI"
HEADERS = {
    REF: "Reference",
    QUESTION: "Question, and evidence to look for",
    LEVELS: "What each level looks like",
    ANSWER: "Answer",
    JUSTIFICATION: "Justification",
    NOTES: "Evidence notes",
    LINKS: "Evidence links (one per line)",
    CONFIDENCE: "Confidence",
    TARGET: "Target level (capability rows)",
}
WIDTHS = {
    REF: 22,
    QUESTION: 48,
    LEVELS: 72,
    ANSWER: 20,
    JUSTIFICATION: 36,
    NOTES: 40,
    LINKS: 34,
    CONFIDENCE: 15,
    TARGET: 18,
}
ANSWER_COLUMNS = (ANSWER, JUSTIFICATION, NOTES, LINKS, CONFIDENCE)
FIELD_COLUMNS = {
    "response": ANSWER,
    "level": ANSWER,
    "justification": JUSTIFICATION,
    "evidence_notes": NOTES,
    "evidence_links": LINKS,
    "confidence": CONFIDENCE,
}
TEXT_FIELDS = ("justification", "evidence_notes")

_HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
_CAPABILITY_FILL = PatternFill("solid", fgColor="DCE6F1")
_ANSWER_FILL = PatternFill("solid", fgColor="FFF7D1")
_THIN = Side(style="thin", color="B7B7B7")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_UNLOCKED = Protection(locked=False)
_BODY = Font(name="Calibri", size=10)
_BOLD = Font(name="Calibri", size=10, bold=True)


class BadFile(Invalid):
    """The uploaded file cannot be used; the message says why and what to do instead."""

    code = "bad_file"

    def __init__(self, message: str, *, field: str | None = "file", **details: Any):
        super().__init__(message, field=field, **details)


# ---------------------------------------------------------------- layout


@dataclass(frozen=True)
class Row:
    """One row of an area sheet: a capability heading or an indicator."""

    number: int
    capability_id: str
    indicator_id: str | None
    fixed: dict[str, str]

    @property
    def key(self) -> str:
        if self.indicator_id is None:
            return self.capability_id
        return f"{self.capability_id}.{self.indicator_id}"

    @property
    def editable(self) -> tuple[str, ...]:
        return (TARGET,) if self.indicator_id is None else ANSWER_COLUMNS


@dataclass(frozen=True)
class Sheet:
    """One area's sheet: its name and rows (row 1 holds the column headers)."""

    area_id: str
    name: str
    rows: list[Row]

    def fixed_cells(self) -> dict[str, str]:
        cells = {f"{column}1": text for column, text in HEADERS.items()}
        for row in self.rows:
            for column, text in row.fixed.items():
                cells[f"{column}{row.number}"] = text
        return cells

    def editable_cells(self) -> set[str]:
        return {f"{column}{row.number}" for row in self.rows for column in row.editable}


def level_label(catalogue: Catalogue, level: int, locale: str) -> str:
    # The drop-down list is comma-separated, so a comma in a level name would split it.
    name = catalogue.level_name(level, locale).replace(",", ";").replace('"', "'")
    return f"{level} - {name}"


def answer_options(catalogue: Catalogue, locale: str) -> list[str]:
    levels = [level_label(catalogue, s.level, locale) for s in catalogue.maturity_scale]
    return [*levels, NOT_APPLICABLE, UNKNOWN]


def layout(catalogue: Catalogue, locale: str = "en") -> list[Sheet]:
    """The area sheets of the workbook, in questionnaire order."""
    sheets: list[Sheet] = []
    used: set[str] = {README_SHEET.lower(), DATA_SHEET.lower()}
    for area in catalogue.areas:
        name = _sheet_name(area.title.get(locale), used)
        rows: list[Row] = []
        number = 2
        for capability in area.capabilities:
            rows.append(
                Row(
                    number,
                    capability.id,
                    None,
                    {
                        REF: capability.id,
                        QUESTION: capability.title.get(locale),
                        LEVELS: capability.summary.get(locale),
                    },
                )
            )
            number += 1
            for indicator in capability.indicators:
                evidence = "\n".join(f"• {item.get(locale)}" for item in indicator.evidence)
                descriptors = "\n".join(
                    f"{level_label(catalogue, level, locale)}: {text.get(locale)}"
                    for level, text in indicator.levels.items()
                )
                question = f"{indicator.question.get(locale)}\n\nEvidence to look for:\n{evidence}"
                rows.append(
                    Row(
                        number,
                        capability.id,
                        indicator.id,
                        {
                            REF: f"{capability.id}.{indicator.id}",
                            QUESTION: question,
                            LEVELS: descriptors,
                        },
                    )
                )
                number += 1
        sheets.append(Sheet(area.id, name, rows))
    return sheets


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", " ", title).strip()[:31] or "Area"
    name, counter = base, 2
    while name.lower() in used:
        suffix = f" ({counter})"
        name, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    used.add(name.lower())
    return name


# ---------------------------------------------------------------- writing


@dataclass(frozen=True)
class WorkbookData:
    """What an exported workbook holds, gathered by the service from the database."""

    assessment_id: int
    country_code: str
    country_name: str
    cycle: str
    status: str
    catalogue: Catalogue
    catalogue_hash: str
    answers: dict[str, tuple[dict[str, Any], int]]  # "cap.ind" -> (content, version)
    targets: dict[str, tuple[int, int]]  # capability id -> (level, version)
    editable_areas: frozenset[str]
    is_coordinator: bool
    exported_at: datetime
    exported_by_id: int
    locale: str = "en"


def cell_text(value: str) -> str:
    """Text as a cell can hold it: no characters XML forbids, no more than Excel shows."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:CELL_LIMIT]


def answer_label(content: dict[str, Any], catalogue: Catalogue, locale: str) -> str:
    if content["response"] == Response.LEVEL:
        return level_label(catalogue, content["level"], locale)
    return NOT_APPLICABLE if content["response"] == Response.NOT_APPLICABLE else UNKNOWN


def answer_cells(content: dict[str, Any], catalogue: Catalogue, locale: str) -> dict[str, str]:
    """The answer columns' text for an answer's content, exactly as the export writes it."""
    confidence = content.get("confidence")
    return {
        ANSWER: answer_label(content, catalogue, locale),
        JUSTIFICATION: cell_text(content.get("justification") or ""),
        NOTES: cell_text(content.get("evidence_notes") or ""),
        LINKS: cell_text("\n".join(content.get("evidence_links") or [])),
        CONFIDENCE: CONFIDENCE_LABELS[Confidence(confidence)] if confidence else "",
    }


def build_workbook(data: WorkbookData) -> bytes:
    """The XLSX workbook of an assessment: read-me, one protected sheet per area, data."""
    catalogue, locale = data.catalogue, data.locale
    workbook = Workbook()
    readme = workbook.active
    readme.title = README_SHEET
    sheets = layout(catalogue, locale)
    _write_readme(readme, data, sheets)
    for sheet in sheets:
        _write_area(workbook.create_sheet(sheet.name), sheet, data)
    _write_data_sheet(workbook.create_sheet(DATA_SHEET), data)
    workbook.active = 0
    workbook.properties.creator = "gsr-assess"
    workbook.properties.title = "GSR self-assessment workbook"
    # Lock the structure so sheets cannot be renamed, moved, deleted or unhidden.
    workbook.security.lockStructure = True
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _protect(ws: Worksheet) -> None:
    ws.protection.sheet = True
    # People may still resize rows and columns to read long texts.
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _print_setup(ws: Worksheet, *, landscape: bool) -> None:
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5


def _lines(text: str, width: float) -> int:
    per_line = max(int(width * 1.2), 8)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _fit_height(ws: Worksheet, number: int, texts: dict[str, str]) -> None:
    lines = max((_lines(text, WIDTHS[column]) for column, text in texts.items() if text), default=1)
    ws.row_dimensions[number].height = min(409, max(15, 12.75 * lines + 4))


def _write_area(ws: Worksheet, sheet: Sheet, data: WorkbookData) -> None:
    catalogue, locale = data.catalogue, data.locale
    for column, text in HEADERS.items():
        cell = ws[f"{column}1"]
        cell.value = text
        cell.font = Font(name="Calibri", size=10, bold=True, color="FFFFFF")
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = _BORDER
        ws.column_dimensions[column].width = WIDTHS[column]
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A2"

    answers_list = DataValidation(
        type="list",
        formula1=_list_formula(answer_options(catalogue, locale)),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Choose an answer from the list",
        error="Choose a level, Not applicable or Unknown from the list.",
    )
    confidence_list = DataValidation(
        type="list",
        formula1=_list_formula(list(CONFIDENCE_LABELS.values())),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Choose a confidence from the list",
        error="Choose Self-reported, Documented or Verified.",
    )
    target_list = DataValidation(
        type="list",
        formula1=_list_formula(
            [level_label(catalogue, s.level, locale) for s in catalogue.maturity_scale]
        ),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Choose a target level from the list",
        error="Choose the level the country aims for.",
    )
    for validation in (answers_list, confidence_list, target_list):
        ws.add_data_validation(validation)

    for row in sheet.rows:
        n = row.number
        values: dict[str, str] = dict(row.fixed)
        if row.indicator_id is None:
            target = data.targets.get(row.capability_id)
            values[TARGET] = level_label(catalogue, target[0], locale) if target else ""
            target_list.add(f"{TARGET}{n}")
        else:
            answer = data.answers.get(row.key)
            if answer is not None:
                values.update(answer_cells(answer[0], catalogue, locale))
            answers_list.add(f"{ANSWER}{n}")
            confidence_list.add(f"{CONFIDENCE}{n}")
        for column in HEADERS:
            cell = ws[f"{column}{n}"]
            text = values.get(column, "")
            if text:
                cell.value = text
                cell.data_type = "s"  # text, even when it starts with "="
            cell.alignment = _WRAP_TOP
            cell.border = _BORDER
            cell.font = _BODY
            if column in row.editable:
                cell.protection = _UNLOCKED
                cell.fill = _ANSWER_FILL
            elif row.indicator_id is None:
                cell.fill = _CAPABILITY_FILL
                cell.font = _BOLD if column in (REF, QUESTION) else _BODY
        _fit_height(ws, n, {c: t for c, t in values.items() if c in (QUESTION, LEVELS, NOTES)})

    _protect(ws)
    _print_setup(ws, landscape=True)
    ws.print_title_rows = "1:1"


def _list_formula(options: list[str]) -> str:
    formula = '"' + ",".join(options) + '"'
    if len(formula) > 255:  # Excel's limit for a list typed into the validation
        formula = '"' + ",".join(re.sub(r" - .*", "", option) for option in options) + '"'
    return formula


def _write_readme(ws: Worksheet, data: WorkbookData, sheets: list[Sheet]) -> None:
    catalogue, locale = data.catalogue, data.locale
    ws.column_dimensions["A"].width = 80
    areas = {area.id: area.title.get(locale) for area in catalogue.areas}
    editable = [areas[s.area_id] for s in sheets if s.area_id in data.editable_areas]
    exported = data.exported_at.strftime("%d %B %Y, %H:%M UTC")
    lines: list[tuple[str, str]] = [
        ("title", "Self-assessment against the Global Strategic Response"),
        ("", f"Country: {data.country_name} ({data.country_code})    Cycle: {data.cycle}"),
        (
            "",
            f"Catalogue: {catalogue.title.get(locale)}, version {catalogue.version}    "
            f"Downloaded: {exported}    Status then: {data.status}",
        ),
        ("", ""),
        ("heading", "How to fill in this workbook"),
        (
            "",
            "1. Each sheet after this one is one area of the catalogue. A blue row names a "
            "capability; the rows under it are its indicators.",
        ),
        (
            "",
            "2. Read the question and what each level looks like, then choose the level that "
            "describes your country today from the drop-down list in the yellow Answer column.",
        ),
        (
            "",
            "3. If an indicator does not apply to your country, choose Not applicable and say "
            "why in Justification (an explanation is required). If nobody can tell, choose "
            "Unknown.",
        ),
        (
            "",
            "4. Write what supports your answer in Evidence notes. Put links to documents in "
            "Evidence links, one per line, starting with http:// or https://.",
        ),
        (
            "",
            "5. Say how sure you are in Confidence: "
            + "; ".join(f"{CONFIDENCE_LABELS[c]}: {CONFIDENCE_HELP[c]}" for c in CONFIDENCE_LABELS)
            + ".",
        ),
        (
            "",
            "6. On each blue capability row, the coordinator may choose the level the country "
            "aims for in Target level. Targets are only taken from the coordinator's uploads.",
        ),
        (
            "",
            "7. Only the yellow cells can be changed. Do not rename, move or delete sheets, "
            "rows or columns, and do not type formulas: type or paste plain values.",
        ),
        (
            "",
            "8. Save the file as an Excel workbook (.xlsx) and upload it on the assessment's "
            "page. You will see every change before anything is saved, and then apply or "
            "cancel them.",
        ),
        (
            "",
            "9. If someone changed an answer online after this workbook was downloaded, the "
            "upload shows both versions side by side and keeps the online one unless you "
            "choose the workbook's.",
        ),
        ("", ""),
        ("heading", "What you can change"),
        (
            "",
            (
                "With your role you can change the answers in: " + ", ".join(editable) + "."
                if editable
                else "You cannot change this assessment's answers at the moment; the workbook "
                "is for reading and discussion."
            )
            + (" You can also set targets." if data.is_coordinator else ""),
        ),
        ("", ""),
        ("heading", "The maturity levels"),
    ]
    for step in catalogue.maturity_scale:
        lines.append(
            (
                "",
                f"{level_label(catalogue, step.level, locale)}: {step.description.get(locale)}",
            )
        )
    unknown_counts = (
        "counted as level 0 in the scores"
        if catalogue.scoring.unknown == UnknownPolicy.AS_ZERO
        else "left out of the scores, like Not applicable"
    )
    lines += [
        (
            "",
            f"{NOT_APPLICABLE}: the indicator does not apply to the country (explain why); "
            "left out of the scores.",
        ),
        ("", f"{UNKNOWN}: nobody taking part can tell yet; {unknown_counts}."),
        ("", ""),
        ("heading", "Confidentiality"),
        (
            "",
            "This workbook holds your country's self-assessment, which is confidential. Share it "
            "only with the officials taking part; do not send it to personal e-mail addresses "
            "or leave it on public or shared drives. Delete copies you no longer need.",
        ),
    ]
    for index, (kind, text) in enumerate(lines, start=1):
        cell = ws.cell(row=index, column=1, value=text or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if kind == "title":
            cell.font = Font(name="Calibri", size=14, bold=True, color="1F3A5F")
            ws.row_dimensions[index].height = 22
        elif kind == "heading":
            cell.font = Font(name="Calibri", size=11, bold=True, color="1F3A5F")
            ws.row_dimensions[index].height = 18
        else:
            cell.font = Font(name="Calibri", size=10)
            ws.row_dimensions[index].height = 12.75 * _lines(text, 80) + 3
    _protect(ws)
    _print_setup(ws, landscape=False)


def _write_data_sheet(ws: Worksheet, data: WorkbookData) -> None:
    catalogue = data.catalogue
    rows: list[tuple[Any, ...]] = [
        ("kind", "key", "value", "level"),
        ("setting", "format", FORMAT, None),
        ("setting", "format_version", FORMAT_VERSION, None),
        ("setting", "assessment_id", data.assessment_id, None),
        ("setting", "country_code", data.country_code, None),
        ("setting", "cycle", data.cycle, None),
        ("setting", "catalogue_key", catalogue.id, None),
        ("setting", "catalogue_version", catalogue.version, None),
        ("setting", "catalogue_hash", data.catalogue_hash, None),
        ("setting", "locale", data.locale, None),
        ("setting", "exported_at", data.exported_at.isoformat(), None),
        ("setting", "exported_by_user_id", data.exported_by_id, None),
    ]
    for capability_id, indicator_id in catalogue.indicator_keys():
        key = f"{capability_id}.{indicator_id}"
        rows.append(("answer", key, data.answers[key][1] if key in data.answers else 0, None))
    for capability in catalogue.capabilities():
        level, version = data.targets.get(capability.id, (None, 0))
        rows.append(("target", capability.id, version, level))
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 40
    _protect(ws)
    ws.sheet_state = "veryHidden"


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Metadata:
    """What the hidden data sheet says about where the workbook came from."""

    assessment_id: int
    country_code: str
    cycle: str
    catalogue_key: str
    catalogue_version: str
    catalogue_hash: str
    locale: str
    exported_at: str
    answer_versions: dict[str, int]
    targets: dict[str, tuple[int | None, int]]  # capability id -> (level, version)


@dataclass
class Problem:
    cell: str
    reason: str
    key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"cell": self.cell, "key": self.key, "reason": self.reason}


@dataclass
class RowValues:
    """The editable cells of one layout row as found in the uploaded workbook."""

    sheet: str
    area_id: str
    row: Row
    values: dict[str, Any]
    damaged: bool = False

    def ref(self, column: str) -> str:
        return f"{self.sheet}!{column}{self.row.number}"


@dataclass
class Contents:
    rows: list[RowValues] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def check_package(data: bytes, file_name: str = "") -> None:
    """Refuse anything but a plain, sane XLSX package before an XML parser sees it."""
    if not data:
        raise BadFile("the file is empty; choose the workbook you filled in")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise BadFile(
            "this is an Excel 97-2003 (.xls) file or a password-protected workbook; open it, "
            "remove any password and save it as 'Excel Workbook (.xlsx)'"
        )
    if not data.startswith(b"PK\x03\x04"):
        raise BadFile(
            "this file is not an Excel workbook (.xlsx); upload the workbook downloaded "
            "from this assessment, saved in Excel or LibreOffice as .xlsx"
        )
    if file_name.lower().endswith((".xlsm", ".xltm", ".xlsb")):
        raise BadFile(_MACROS)
    try:
        with zipfile.ZipFile(BytesIO(data)) as package:
            _check_entries(package)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError):
        raise BadFile(
            "the file is damaged or incomplete (the download, copy or e-mail may have cut it "
            "short); save the workbook again and upload that copy"
        ) from None


_MACROS = (
    "macro-enabled workbooks (.xlsm) are not accepted: save the workbook as "
    "'Excel Workbook (.xlsx)', which removes the macros, and upload that"
)


def _check_entries(package: zipfile.ZipFile) -> None:
    entries = package.infolist()
    if len(entries) > MAX_ENTRIES:
        raise BadFile(
            f"the workbook holds {len(entries)} parts, more than the {MAX_ENTRIES} accepted; "
            "upload the workbook downloaded from this assessment"
        )
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise BadFile(
            f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB, far "
            "more than an assessment needs; it was refused to protect the service"
        )
    names = {entry.filename for entry in entries}
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise BadFile(_MACROS)
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise BadFile(
            "this file is not an Excel workbook (.xlsx) (it may be another kind of Office "
            "document or a zip archive); upload the workbook downloaded from this assessment"
        )
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise BadFile("the workbook is encrypted; remove the password and save it again")
    if b"macroenabled" in package.read("[Content_Types].xml").lower():
        raise BadFile(_MACROS)
    # Excel never writes document type declarations, and entity tricks need them.
    for entry in entries:
        if entry.filename.lower().endswith((".xml", ".rels", ".vml")) and re.search(
            rb"<!(DOCTYPE|ENTITY)", package.read(entry), re.IGNORECASE
        ):
            raise BadFile(
                "the workbook contains XML declarations (DOCTYPE or ENTITY) that Excel "
                "and LibreOffice never write; it was refused to protect the service"
            )


def open_workbook(data: bytes, file_name: str = "") -> tuple[Workbook, Metadata]:
    """The checked, loaded workbook and what its hidden data sheet says."""
    check_package(data, file_name)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it drops (e.g. LibreOffice's); they hold no data.
            warnings.simplefilter("ignore")
            workbook = load_workbook(
                BytesIO(data), data_only=False, keep_vba=False, keep_links=False, rich_text=False
            )
    except Exception:
        raise BadFile(
            "the workbook could not be read; open it in Excel or LibreOffice, save it as "
            "'Excel Workbook (.xlsx)' and upload it again"
        ) from None
    return workbook, _read_metadata(workbook)


def _read_metadata(workbook: Workbook) -> Metadata:
    if DATA_SHEET not in workbook.sheetnames:
        raise BadFile(
            "this workbook was not downloaded from gsr-assess, or its hidden data sheet was "
            "removed; download the assessment's workbook and enter the answers there"
        )
    ws = workbook[DATA_SHEET]
    if ws.max_row > MAX_DATA_ROWS:
        raise BadFile("the workbook's hidden data sheet is damaged; download a fresh workbook")
    settings: dict[str, Any] = {}
    versions: dict[str, int] = {}
    targets: dict[str, tuple[int | None, int]] = {}
    try:
        for kind, key, value, level in ws.iter_rows(min_row=2, max_col=4, values_only=True):
            if kind == "setting":
                settings[str(key)] = value
            elif kind == "answer":
                versions[str(key)] = int(value)
            elif kind == "target":
                targets[str(key)] = (None if level in (None, "") else int(level), int(value))
        if settings.get("format") != FORMAT:
            raise BadFile(
                "this workbook was not downloaded from gsr-assess; download the assessment's "
                "workbook and enter the answers there"
            )
        if int(settings.get("format_version", 0)) != FORMAT_VERSION:
            raise BadFile(
                f"this workbook has layout version {settings.get('format_version')}, which "
                f"this installation does not read (it reads version {FORMAT_VERSION}); "
                "download a fresh workbook"
            )
        return Metadata(
            assessment_id=int(settings["assessment_id"]),
            country_code=str(settings["country_code"]),
            cycle=str(settings["cycle"]),
            catalogue_key=str(settings["catalogue_key"]),
            catalogue_version=str(settings["catalogue_version"]),
            catalogue_hash=str(settings["catalogue_hash"]),
            locale=str(settings.get("locale") or "en"),
            exported_at=str(settings.get("exported_at") or ""),
            answer_versions=versions,
            targets=targets,
        )
    except (KeyError, TypeError, ValueError):
        raise BadFile(
            "the workbook's hidden data sheet is damaged; download a fresh workbook"
        ) from None


def _normal(value: Any) -> str:
    """A cell value as comparable text: what the export wrote and what came back agree."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def read_contents(workbook: Workbook, catalogue: Catalogue, locale: str) -> Contents:
    """The answer cells of every area sheet, with every protected cell that was changed.

    A row whose protected cells (reference, question, descriptors) were changed is marked
    damaged: its answer may no longer mean what the question asks. Formulas in answer cells
    refuse the whole file: their values would depend on other cells.
    """
    contents = Contents()
    formulas: list[str] = []
    for sheet in layout(catalogue, locale):
        if sheet.name not in workbook.sheetnames:
            contents.problems.append(
                Problem(
                    f"{sheet.name}!A1",
                    "this sheet is missing (renamed or deleted), so its answers were not read",
                )
            )
            continue
        ws = workbook[sheet.name]
        rows_by_number = {row.number: row for row in sheet.rows}
        expected = sheet.fixed_cells()
        editable = sheet.editable_cells()
        damaged: set[int] = set()
        found: set[str] = set()
        # The stored cells only: walking the used range could mean billions of empty cells.
        for cell in list(ws._cells.values()):
            coordinate = cell.coordinate
            if coordinate in editable:
                if cell.data_type == "f":
                    formulas.append(f"{sheet.name}!{coordinate}")
                continue
            found.add(coordinate)
            if _normal(cell.value) != _normal(expected.get(coordinate)):
                contents.problems.append(
                    Problem(
                        f"{sheet.name}!{coordinate}",
                        "this protected cell was changed"
                        + ("; the row's answer was not read" if cell.row in rows_by_number else ""),
                        rows_by_number[cell.row].key if cell.row in rows_by_number else None,
                    )
                )
                damaged.add(cell.row)
        for coordinate, text in expected.items():
            if coordinate not in found and _normal(text):
                number = int(re.sub(r"[A-Z]+", "", coordinate))
                row = rows_by_number.get(number)
                contents.problems.append(
                    Problem(
                        f"{sheet.name}!{coordinate}",
                        "this protected cell was emptied"
                        + ("; the row's answer was not read" if row else ""),
                        row.key if row else None,
                    )
                )
                damaged.add(number)
        for row in sheet.rows:
            values = {column: ws[f"{column}{row.number}"].value for column in row.editable}
            contents.rows.append(
                RowValues(sheet.name, sheet.area_id, row, values, row.number in damaged)
            )
    if formulas:
        shown = ", ".join(formulas[:10]) + (" and more" if len(formulas) > 10 else "")
        raise BadFile(
            f"formulas are not accepted in answer cells ({shown}); type or paste the values "
            "themselves and upload again",
            cells=formulas,
        )
    return contents


def sort_problems(problems: list[Problem], catalogue: Catalogue, locale: str) -> list[Problem]:
    """Problems in the order of the workbook: sheet by sheet, row by row, left to right."""
    order = {sheet.name: index for index, sheet in enumerate(layout(catalogue, locale))}

    def position(problem: Problem) -> tuple[int, int, str]:
        sheet, _, coordinate = problem.cell.rpartition("!")
        column = re.sub(r"\d+", "", coordinate)
        number = re.sub(r"[A-Z]+", "", coordinate)
        return (order.get(sheet, len(order)), int(number or 0), column)

    return sorted(problems, key=position)


# ---------------------------------------------------------------- answers in cells


@dataclass
class ParsedAnswer:
    """An answer row read back: blank, details without an answer, invalid, or an answer."""

    kind: str  # "blank" | "details_only" | "invalid" | "answer"
    content: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


def shown_value(value: Any) -> str:
    text = _normal(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_level(value: Any, catalogue: Catalogue) -> int | str:
    """A level from a cell: an int, "2" or "2 - Developing"; 'na'/'unknown'; else 'bad'."""
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, int | float):
        if float(value).is_integer() and 0 <= int(value) <= catalogue.max_level:
            return int(value)
        return "bad"
    text = _normal(value).lower()
    if text in ("not applicable", "n/a", "na"):
        return "na"
    if text == "unknown":
        return "unknown"
    match = re.match(r"^(\d+)(\s*[-–:.]\s*.*)?$", text, re.DOTALL)
    if match and int(match.group(1)) <= catalogue.max_level:
        return int(match.group(1))
    return "bad"


def _confidence(value: Any) -> str | None:
    text = re.sub(r"[\s_\-]", "", _normal(value).lower())
    if not text:
        return None
    for member, label in CONFIDENCE_LABELS.items():
        if text in (re.sub(r"[\s_\-]", "", label.lower()), member.value.replace("_", "")):
            return member.value
    return "bad"


def parse_answer(row: RowValues, catalogue: Catalogue, locale: str) -> ParsedAnswer:
    """The answer in an indicator row, validated by the same rules as the web form."""
    values = row.values
    details = {column: _normal(values.get(column)) for column in ANSWER_COLUMNS}
    if not details[ANSWER]:
        return ParsedAnswer("details_only" if any(details.values()) else "blank")
    problems: list[Problem] = []
    choice = parse_level(values.get(ANSWER), catalogue)
    if choice == "bad":
        options = ", ".join(answer_options(catalogue, locale))
        problems.append(
            Problem(
                row.ref(ANSWER),
                f"'{shown_value(values.get(ANSWER))}' is not an answer on the list ({options})",
                row.row.key,
            )
        )
    confidence = _confidence(values.get(CONFIDENCE))
    if confidence == "bad":
        problems.append(
            Problem(
                row.ref(CONFIDENCE),
                f"'{shown_value(values.get(CONFIDENCE))}' is not a confidence on the list "
                f"({', '.join(CONFIDENCE_LABELS.values())})",
                row.row.key,
            )
        )
    if problems:
        return ParsedAnswer("invalid", problems=problems)
    response = {"na": Response.NOT_APPLICABLE, "unknown": Response.UNKNOWN}.get(
        choice, Response.LEVEL
    )
    try:
        answer = AnswerInput(
            version=0,
            response=response,
            level=choice if isinstance(choice, int) else None,
            justification=details[JUSTIFICATION],
            evidence_notes=details[NOTES],
            evidence_links=details[LINKS],
            confidence=confidence,
        )
    except ValidationError as error:
        return ParsedAnswer("invalid", problems=_validation_problems(error, row))
    return ParsedAnswer("answer", content=answer.content())


def _validation_problems(error: ValidationError, row: RowValues) -> list[Problem]:
    problems = []
    for item in error.errors():
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        location = [part for part in item.get("loc", ()) if isinstance(part, str)]
        name = location[0] if location else ""
        head, sep, rest = message.partition(": ")
        if not name and sep and head in FIELD_COLUMNS:
            name, message = head, rest
        if name == "justification" and "explain why" in message:
            message = "'Not applicable' needs a justification: explain why it does not apply"
        column = FIELD_COLUMNS.get(name, ANSWER)
        problems.append(Problem(row.ref(column), message, row.row.key))
    return problems


def comparable(content: dict[str, Any] | None) -> dict[str, Any] | None:
    """Content as it survives a trip through a cell (illegal characters out, Excel's limit)."""
    if content is None:
        return None
    result = dict(content)
    for name in TEXT_FIELDS:
        result[name] = cell_text(result.get(name) or "").strip()
    links = cell_text("\n".join(result.get("evidence_links") or []))
    result["evidence_links"] = [line.strip() for line in links.splitlines() if line.strip()]
    return result
