"""``profond lab report``: every lab's latest run as one self-contained HTML page and a Markdown file.

The page opens with the claims of the course that did not hold, then gives each lab: its setup,
the course's wording (paraphrased, with its reference) beside what was measured, the verdicts
per seed, the numbers and the figures (inlined as base64, so the page is one file).
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any

from profond.atomic import atomic_write_text
from profond.errors import ProfondError

COLORS = {"holds": "#1b7f3b", "does not hold": "#b3261e", "inconclusive": "#a86b00"}
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.6em 0} td,th{border:1px solid #ddd;padding:.35em .5em;
vertical-align:top;font-size:.92em} th{background:#f4f4f4;text-align:left}
.verdict{font-weight:600;white-space:nowrap} .lab{margin-bottom:2.5em}
.figure img{max-width:100%;border:1px solid #eee} .muted{color:#666;font-size:.9em}
details pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.8em}
"""


def latest_results(source: Path) -> list[dict[str, Any]]:
    """The newest ``results.json`` of each lab found under ``source``, in registry order."""
    from profond.labs.registry import lab_names

    newest: dict[str, tuple[float, Path]] = {}
    for path in Path(source).rglob("results.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a foreign or damaged file is not a lab run
        name = doc.get("lab") if isinstance(doc, dict) else None
        if not isinstance(name, str) or "verdicts" not in doc or "mode" not in doc:
            continue
        mtime = path.stat().st_mtime
        if name not in newest or mtime > newest[name][0]:
            newest[name] = (mtime, path)
    order = {name: i for i, name in enumerate(lab_names())}
    docs = []
    for name in sorted(newest, key=lambda n: (order.get(n, len(order)), n)):
        path = newest[name][1]
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["_dir"] = str(path.parent)
        docs.append(doc)
    return docs


def _e(text: Any) -> str:
    return html.escape(str(text))


def _badge(status: str) -> str:
    return f'<span class="verdict" style="color:{COLORS.get(status, "#333")}">{_e(status)}</span>'


def _seeds(verdict: dict[str, Any]) -> str:
    return "".join("✓" if ok else "✗" for ok in verdict.get("seed_results", []))


def _image(folder: Path, name: str) -> str:
    path = folder / name
    if not path.is_file():
        return f'<p class="muted">figure {_e(name)} is missing</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<div class="figure"><img alt="{_e(name)}" src="data:image/png;base64,{data}"></div>'


def _failed_section(docs: list[dict[str, Any]]) -> list[str]:
    rows = [(d, v) for d in docs for v in d["verdicts"] if v["status"] == "does not hold"]
    open_ = [(d, v) for d in docs for v in d["verdicts"] if v["status"] == "inconclusive"]
    out = ['<h2 id="wrong">Where the course is wrong or imprecise</h2>']
    if not rows:
        out.append("<p>Every measured claim held or was inconclusive.</p>")
    else:
        out.append("<table><tr><th>lab</th><th>the course says</th><th>where</th>"
                   "<th>measured</th></tr>")  # fmt: skip
        for doc, v in rows:
            c = v["claim"]
            out.append(f'<tr><td><a href="#{_e(doc["lab"])}">{_e(doc["lab"])}</a></td>'
                       f"<td>{_e(c['text'])}</td><td>{_e(c['course'])}</td>"
                       f"<td>{_e(v['summary'])}</td></tr>")  # fmt: skip
        out.append("</table>")
    if open_:
        out.append("<h3>Not decided by these runs (inconclusive: the seeds disagree)</h3><ul>")
        out += [f"<li><b>{_e(d['lab'])}</b>: {_e(v['claim']['text'])} — {_e(v['summary'])}</li>"
                for d, v in open_]  # fmt: skip
        out.append("</ul>")
    return out


def _lab_section(doc: dict[str, Any]) -> list[str]:
    folder = Path(doc["_dir"])
    seeds = ", ".join(map(str, doc["seeds"]))
    out = [
        f'<div class="lab" id="{_e(doc["lab"])}"><h2>{_e(doc["lab"])} — {_e(doc["title"])}</h2>',
        f"<p>{_e(doc.get('setup', ''))}</p>",
        f'<p class="muted">mode {_e(doc["mode"])} · seeds {_e(seeds)} · {doc["seconds"]:.1f} s · '
        f"answers {_e(' '.join(doc.get('answers', [])))}"
        + (f" · MLflow run {_e(doc['mlflow_run_id'])}" if doc.get("mlflow_run_id") else "")
        + "</p>",
        "<table><tr><th>the course says (our paraphrase)</th><th>measured</th><th>rule</th>"
        "<th>per seed</th><th>verdict</th></tr>",
    ]
    for v in doc["verdicts"]:
        c = v["claim"]
        out.append(
            f"<tr><td>{_e(c['text'])}<br><span class='muted'>{_e(c['course'])}</span></td>"
            f"<td>{_e(v['summary'])}<br><span class='muted'>{_e(c['quantity'])}</span></td>"
            f"<td>{_e(c['rule'])}</td><td>{_seeds(v)}</td><td>{_badge(v['status'])}</td></tr>"
        )
    out.append("</table>")
    out += [_image(folder, name) for name in doc.get("figures", [])]
    numbers = {v["claim"]["id"]: v["measured"] for v in doc["verdicts"]}
    out.append(f"<details><summary>numbers and config</summary><pre>"
               f"{_e(json.dumps({'measured': numbers, 'config': doc.get('config')}, indent=1))}"
               "</pre></details></div>")  # fmt: skip
    return out


def render_html(docs: list[dict[str, Any]]) -> str:
    counts = {s: sum(v["status"] == s for d in docs for v in d["verdicts"]) for s in COLORS}
    summary = ["<table><tr><th>lab</th><th>claim</th><th>per seed</th><th>verdict</th></tr>"]
    for doc in docs:
        for v in doc["verdicts"]:
            summary.append(f'<tr><td><a href="#{_e(doc["lab"])}">{_e(doc["lab"])}</a></td>'
                           f"<td>{_e(v['claim']['text'])}</td><td>{_seeds(v)}</td>"
                           f"<td>{_badge(v['status'])}</td></tr>")  # fmt: skip
    summary.append("</table>")
    body = [
        "<h1>profond labs: the course's claims, measured</h1>",
        f'<p class="muted">{len(docs)} labs · {counts["holds"]} claims hold · '
        f"{counts['does not hold']} do not · {counts['inconclusive']} inconclusive · "
        f"generated {time.strftime('%Y-%m-%d %H:%M')}</p>",
        *_failed_section(docs),
        "<h2>All verdicts</h2>",
        *summary,
        *[line for doc in docs for line in _lab_section(doc)],
    ]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>profond labs report</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")  # fmt: skip


def render_markdown(docs: list[dict[str, Any]]) -> str:
    lines = ["# profond labs: the course's claims, measured", "",
             "## Where the course is wrong or imprecise", ""]  # fmt: skip
    failed = [(d, v) for d in docs for v in d["verdicts"] if v["status"] == "does not hold"]
    lines += [f"- **{d['lab']}** — {v['claim']['text']} ({v['claim']['course']}). "
              f"Measured: {v['summary']}" for d, v in failed] or ["- none"]  # fmt: skip
    for doc in docs:
        lines += ["", f"## {doc['lab']} — {doc['title']}", "", doc.get("setup", ""), "",
                  f"mode {doc['mode']}, seeds {doc['seeds']}, {doc['seconds']:.1f} s, answers "
                  f"{' '.join(doc.get('answers', []))}", "",
                  "| the course says | where | measured | rule | per seed | verdict |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for v in doc["verdicts"]:
            c = v["claim"]
            cells = [c["text"], c["course"], v["summary"], c["rule"], _seeds(v), v["status"]]
            lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
        lines += [""] + [f"![{name}]({Path(doc['_dir']) / name})" for name in doc["figures"]]
    return "\n".join(lines) + "\n"


def write_report(source: Path, out: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` into ``out`` from the runs under ``source``.

    Raises:
        ProfondError: no lab run was found under ``source``.
    """
    docs = latest_results(source)
    if not docs:
        raise ProfondError(f"no lab results under {source}; run `profond lab run --all` first")
    out = Path(out)
    html_path = atomic_write_text(out / "report.html", render_html(docs))
    md_path = atomic_write_text(out / "report.md", render_markdown(docs))
    return html_path, md_path
