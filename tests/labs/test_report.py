import base64
import re
from dataclasses import dataclass

import pytest

from profond.errors import ProfondError
from profond.labs.base import Claim, Lab, Outcome
from profond.labs.protocol import decide
from profond.labs.report import latest_results, write_report


@dataclass(frozen=True)
class Cfg:
    seeds: int = 2
    slope: float = 1.0


def _lab(name: str, threshold: float) -> Lab:
    claim = Claim("line_above", f"the line ends above {threshold}", "§44.1; Q3", "y at x=3",
                  f"holds for a seed if y(3) > {threshold}")  # fmt: skip

    def experiment(ctx):
        from profond.labs.figures import finish, new_figure, seed_lines

        ys = [[ctx.config.slope * x + s for x in range(4)] for s in ctx.seeds]
        fig, (ax,) = new_figure()
        seed_lines(ax, list(range(4)), ys, "y")
        figure = finish(fig, ctx.path(f"{name}.png"), name)
        ends = [y[-1] for y in ys]
        return Outcome([decide(claim, [e > threshold for e in ends], {"ends": ends},
                               summary=f"y(3) = {ends}")], [figure])  # fmt: skip

    return Lab(name, f"{name} title", (claim,), f"{name} setup", Cfg(), Cfg(seeds=4),
               experiment, ("line",), ("Q3",))  # fmt: skip


def test_report_has_every_lab_figure_and_verdict_and_lists_what_did_not_hold(tmp_path):
    # seeds 0, 1 → y(3) = 3, 4: "above 2" holds, "above 10" does not
    held = _lab("holding_lab", 2.0).run(tmp_path / "runs" / "a" / "1", seed=0)
    failed = _lab("failing_lab", 10.0).run(tmp_path / "runs" / "b" / "1", seed=0)
    html_path, md_path = write_report(tmp_path / "runs", tmp_path / "out")
    page = html_path.read_text()
    for result in (held, failed):
        assert f'id="{result.name}"' in page
        png = (result.outdir / f"{result.name}.png").read_bytes()
        assert base64.b64encode(png).decode() in page  # the figure is inlined, not linked
    wrong = page.split('id="wrong"')[1].split("<h2>")[0]
    assert "the line ends above 10.0" in wrong and "above 2.0" not in wrong
    assert page.count(">holds<") >= 2 and page.count(">does not hold<") >= 2
    assert not re.search(r'src="(?!data:)', page), "the page must be self-contained"
    markdown = md_path.read_text()
    assert "## Where the course is wrong or imprecise" in markdown
    assert "failing_lab" in markdown.split("## holding_lab")[0]


def test_report_uses_the_newest_run_of_a_lab_and_skips_foreign_files(tmp_path):
    import os

    old = _lab("line_lab", 10.0).run(tmp_path / "old", seed=0)
    new = _lab("line_lab", 2.0).run(tmp_path / "new", seed=0)
    os.utime(old.outdir / "results.json", (1, 1))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.json").write_text("{not json")
    (docs,) = [latest_results(tmp_path)]
    assert len(docs) == 1 and docs[0]["verdicts"][0]["status"] == "holds"
    assert docs[0]["_dir"] == str(new.outdir)


def test_report_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(ProfondError, match="no lab results under"):
        write_report(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_run_all_prints_a_summary_and_the_report_covers_every_lab(tmp_path, monkeypatch, capsys):
    from profond.cli import main
    from profond.labs import registry

    labs = {"holding_lab": _lab("holding_lab", 2.0), "failing_lab": _lab("failing_lab", 10.0)}
    monkeypatch.setattr(registry, "lab_names", lambda: list(labs))
    monkeypatch.setattr(registry, "get_lab", labs.__getitem__)
    assert main(["lab", "run", "--all", "--no-track", "--out", str(tmp_path / "all")]) == 0
    out = capsys.readouterr().out
    assert "[1/2] holding_lab" in out and "[2/2] failing_lab" in out
    assert "2 labs in" in out and "does not hold" in out
    assert main(["lab", "report", "--from", str(tmp_path / "all"), "--out", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert 'id="holding_lab"' in page and 'id="failing_lab"' in page
