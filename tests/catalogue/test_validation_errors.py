"""A catalogue broken in each way is refused with the file, the line and the rule."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.catalogue.loader import CatalogueError, load_catalogue
from app.cli import cli
from app.core.config import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "capabilities"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "capabilities"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace old with new in path; returns the 1-based line of the first replacement."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def problems_of(folder: Path):
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(folder)
    return caught.value.problems


def only(problems, rule):
    found = [p for p in problems if p.rule == rule]
    assert found, f"no {rule} among {[str(p) for p in problems]}"
    return found[0]


def test_duplicate_capability_id_across_files(copy):
    line = edit(copy / "areas/research.yaml", "- id: offender-research", "- id: legislation")
    problem = only(problems_of(copy), "duplicate_id")
    assert problem.file == "areas/research.yaml"
    assert problem.line == line
    assert "areas/policy.yaml" in problem.message
    assert problem.dotted_path.startswith("capabilities[") and problem.dotted_path.endswith(".id")


def test_dangling_dependency(copy):
    line = edit(
        copy / "areas/research.yaml",
        "depends_on: [threat-assessment]",
        "depends_on: [no-such-capability]",
    )
    problem = only(problems_of(copy), "dangling_dependency")
    assert (problem.file, problem.line) == ("areas/research.yaml", line)
    assert "no-such-capability" in problem.message


def test_cyclic_dependency(copy):
    # leadership <- threat-assessment already; make leadership depend on threat-assessment.
    edit(copy / "areas/policy.yaml", "depends_on: []", "depends_on: [threat-assessment]")
    problem = only(problems_of(copy), "cyclic_dependency")
    assert problem.file == "areas/policy.yaml"
    assert problem.line is not None
    assert "leadership" in problem.message and "threat-assessment" in problem.message


def test_missing_level_descriptor(copy):
    text = (copy / "areas/industry.yaml").read_text(encoding="utf-8")
    start = text.index("          3: The hotline is a full INHOPE member")
    end = text.index("\n", start) + 1
    (copy / "areas/industry.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    problem = only(problems_of(copy), "missing_level_descriptor")
    assert problem.file == "areas/industry.yaml"
    assert problem.dotted_path == "capabilities[0].indicators[0].levels"
    assert "[3]" in problem.message
    assert problem.line == text[:start].count("\n") - 3  # the `levels:` line


def test_missing_step_action(copy):
    path = copy / "areas/society.yaml"
    text = path.read_text(encoding="utf-8")
    steps = text.index("    steps:\n")
    step4 = text.index("      4:\n", steps)
    next_capability = text.find("\n  - id:", step4)
    path.write_text(text[:step4] + text[next_capability + 1 :], encoding="utf-8")
    problem = only(problems_of(copy), "missing_step_action")
    assert problem.file == "areas/society.yaml"
    assert problem.dotted_path == "capabilities[0].steps"
    assert problem.line == text[:steps].count("\n") + 1


def test_unknown_locale(copy):
    line = edit(
        copy / "areas/policy.yaml",
        "title: Comprehensive legislation",
        "title: {en: Comprehensive legislation, xx: Nope}",
    )
    problem = only(problems_of(copy), "unknown_locale")
    assert (problem.file, problem.line) == ("areas/policy.yaml", line)
    assert "'xx'" in problem.message


@pytest.mark.parametrize("weight", ["0", "-1"])
def test_weight_not_positive(copy, weight):
    path = copy / "areas/criminal-justice.yaml"
    line = edit(path, "weight: 1.5", f"weight: {weight}")
    problem = only(problems_of(copy), "weight_not_positive")
    assert (problem.file, problem.line) == ("areas/criminal-justice.yaml", line)


def test_unknown_scoring_method(copy):
    line = edit(copy / "catalogue.yaml", "capability_level: mean_floor", "capability_level: median")
    problem = only(problems_of(copy), "unknown_scoring_method")
    assert (problem.file, problem.line) == ("catalogue.yaml", line)
    assert problem.dotted_path == "scoring.capability_level"
    assert "median" in problem.message and "minimum" in problem.message


def test_unknown_sector_and_mnr(copy):
    edit(
        copy / "areas/industry.yaml",
        "depends_on: [legislation]\n    weight: 1.5",
        "depends_on: [legislation]\n    weight: 1.5",
    )
    edit(copy / "areas/industry.yaml", "mnr: [12, 16]", "mnr: [12, 99]")
    edit(
        copy / "areas/industry.yaml", "lead_sectors: [civil-society,", "lead_sectors: [astrologers,"
    )
    problems = problems_of(copy)
    assert only(problems, "unknown_mnr").file == "areas/industry.yaml"
    assert "astrologers" in only(problems, "unknown_sector").message


def test_duplicate_yaml_key_is_caught(copy):
    line = edit(copy / "areas/research.yaml", "  weight: 1\n", "  weight: 1\n  weight: 2\n")
    problem = only(problems_of(copy), "duplicate_key")
    assert (problem.file, problem.line) == ("areas/research.yaml", line + 1)


def test_yaml_syntax_error_names_the_line(copy):
    line = edit(copy / "areas/technology.yaml", "capabilities:\n", "capabilities: [\n")
    problem = only(problems_of(copy), "yaml_syntax")
    assert problem.file == "areas/technology.yaml"
    assert problem.line >= line


def test_every_problem_is_reported_at_once(copy):
    edit(copy / "areas/research.yaml", "depends_on: [threat-assessment]", "depends_on: [nope]")
    edit(copy / "areas/criminal-justice.yaml", "weight: 1.5", "weight: 0")
    rules = {problem.rule for problem in problems_of(copy)}
    assert {"dangling_dependency", "weight_not_positive"} <= rules


def test_cli_validate_reports_file_line_and_rule(copy):
    line = edit(copy / "areas/criminal-justice.yaml", "weight: 1.5", "weight: 0")
    result = CliRunner().invoke(cli, ["catalogue", "validate", str(copy)])
    assert result.exit_code == 1
    assert f"areas/criminal-justice.yaml:{line}:" in result.output
    assert "[weight_not_positive]" in result.output


def test_cli_validate_and_show_on_the_shipped_catalogue():
    runner = CliRunner()
    result = runner.invoke(cli, ["catalogue", "validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "26 capabilities" in result.output or "capabilities" in result.output
    shown = runner.invoke(cli, ["catalogue", "show", str(SHIPPED)])
    assert shown.exit_code == 0
    assert "Comprehensive legislation" in shown.output
    assert "criminal-justice" in shown.output
