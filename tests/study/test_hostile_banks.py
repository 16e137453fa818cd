"""Banks written to hurt: huge runs of whitespace, terminal escape sequences, concurrent imports."""

import io
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from profond.study.importer import import_banks
from profond.study.parse import parse_bank
from profond.study.session import QuizOptions, QuizSession, inert
from profond.study.store import StudyStore

SRC = str(Path(__file__).parents[2] / "src")
SPACES = " " * 80_000

# Lines that made the old patterns backtrack quadratically (minutes for 80 KB).
WHITESPACE_BANKS = {
    "only spaces": SPACES,
    "flat question": f"Question : Topic{SPACES}x\nAnswer : yes{SPACES}contentReference[a{SPACES}\n",
    "topic separators": f"Question : A -{SPACES}B{SPACES}- c{SPACES}\nAnswer : y\n",
    "heading": f"# T{SPACES}x{SPACES}#{SPACES}\n## Q1{SPACES}why{SPACES}\n**Réponse{SPACES}:{SPACES}x\n",
    "answer marker": f"## Q2. q\n**answer{SPACES}\n**Réponse attendue{SPACES}**{SPACES}: ok\n",
    "tabs and dashes": "\t" * 80_000 + "-\nQuestion : " + "\t -" * 20_000 + "\nAnswer : z\n",
    "artefact": f"Question : q\nAnswer : a{SPACES}:contentReference{SPACES}[x{SPACES}]{{{SPACES}\n",
}


@pytest.mark.parametrize("text", WHITESPACE_BANKS.values(), ids=WHITESPACE_BANKS.keys())
def test_80_kb_of_whitespace_imports_in_under_a_second(tmp_path, text):
    bank = tmp_path / "bank.md"
    bank.write_text(text, encoding="utf-8")
    store = StudyStore(tmp_path / "s.db")
    start = time.perf_counter()
    import_banks(store, [bank], 1e9)
    assert time.perf_counter() - start < 1.0


def test_whitespace_does_not_change_what_is_read():
    parsed = parse_bank(
        "# Title  ##\n## 1. Section\n### Q1. Why   ?  ###\n**Réponse** :  because\n"
        "Question : Topic  -  Sub - what - is it\nAnswer : that :contentReference[oaicite:3]{index=3}\n",
        "bank.md",
    )
    assert [(c.deck, c.question, c.answer) for c in parsed.cards] == [
        ("Title/Section", "Why   ?", "because"),
        ("Topic/Sub", "what - is it", "that"),
    ]


HOSTILE = "\x1b]0;owned\x07 clear\x1b[2J csi\x9b31m nul\x00 bidi\u202e end"


def test_escape_sequences_in_a_card_reach_the_terminal_inert(tmp_path):
    bank = tmp_path / "evil.md"
    bank.write_text(f"Question : Deck\x1b[31m - {HOSTILE}?\nAnswer : {HOSTILE}\n", "utf-8")
    store = StudyStore(tmp_path / "s.db")
    assert import_banks(store, [bank], 1e9).counts.added == 1
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    answers = iter(["", "3"])
    session = QuizSession(store, QuizOptions(), console=console, read=lambda _: next(answers))
    assert session.run() == 1
    shown = out.getvalue()
    for raw in ("\x1b]", "\x1b[2J", "\x1b[31m", "\x07", "\x9b", "\x00", "\u202e"):
        assert raw not in shown, repr(raw)
    assert "␛]0;owned␇ clear␛[2J csi<U+009B>31m nul␀ bidi<U+202E> end" in shown
    assert "Deck␛[31m" in shown


def test_inert_keeps_ordinary_text():
    text = "Réponse :\n\tx² → ∞ — « ok » 日本"
    assert inert(text) == text


# Each process waits for the same start signal, then imports the same bank.
IMPORTER = """
import sys, time
from pathlib import Path
from profond.study.importer import import_banks
from profond.study.store import StudyStore
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
with StudyStore(sys.argv[3]) as store:
    print(import_banks(store, [Path(sys.argv[1])], time.time()).counts)
"""


def big_bank(path: Path, cards: int) -> Path:
    path.write_text(
        "".join(f"Question : T - S - question {i}?\nAnswer : answer {i}\n\n" for i in range(cards)),
        encoding="utf-8",
    )
    return path


def test_two_concurrent_imports_of_one_bank_five_rounds(tmp_path):
    bank = big_bank(tmp_path / "bank.md", 3000)
    env = {**os.environ, "PYTHONPATH": SRC}
    for round_ in range(5):
        db, go = tmp_path / f"s{round_}.db", tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", IMPORTER, str(bank), str(go), str(db)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        time.sleep(0.3)
        go.touch()
        results = [(p.wait(60), *p.communicate()) for p in procs]
        for code, _out, err in results:
            assert code == 0 and "Traceback" not in err, err
        added = sorted(int(out.split("added=")[1].split(",")[0]) for _, out, _ in results)
        assert added == [0, 3000]
        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM cards").fetchone() == (3000,)


@pytest.mark.slow
def test_two_concurrent_cli_imports_five_rounds(tmp_path):
    bank = big_bank(tmp_path / "bank.md", 3000)
    for round_ in range(5):
        env = {**os.environ, "PYTHONPATH": SRC, "PROFOND_HOME": str(tmp_path / f"h{round_}")}
        command = [sys.executable, "-m", "profond", "study", "import", str(bank)]
        procs = [
            subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
            for _ in range(2)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0 and b"Traceback" not in err, err


def test_markup_and_controls_in_banks_are_printed_as_text(tmp_path, capsys, monkeypatch):
    from profond.cli import main

    monkeypatch.setenv("COLUMNS", "400")
    bank = tmp_path / "[red]bank.md"
    bank.write_text(
        "Question : [bold]Deck[/] - Sub - fine?\nAnswer : yes\n\n"
        "Question : T - S - [/yellow] no answer \x1b[2J here\n",
        encoding="utf-8",
    )
    assert main(["study", "import", str(bank)]) == 0
    assert main(["study", "decks"]) == 0
    out = capsys.readouterr().out
    assert "[red]bank.md: 1 card(s)" in out and "[/yellow] no answer" in out
    assert "[bold]Deck[-]/Sub" in out  # a "/" inside a deck part becomes "-"
    assert "\x1b" not in out
