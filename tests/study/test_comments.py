from profond.study.comments import strip_comments


def test_inline_multiline_and_fenced_comments():
    lines = ["a <!-- x --> b", "<!--", "Question : fake", "-->tail", "```", "<!-- code -->", "```"]
    out = strip_comments(lines)
    assert out.lines == ["a  b", "", "", "tail", "```", "<!-- code -->", "```"]
    assert out.comment_starts == {1}
    assert out.problems == []


def test_comment_left_open_before_another_is_reported_and_ends_at_blank_line():
    lines = ["<!-- open", "note", "", "kept", "<!-- fine -->"]
    out = strip_comments(lines)
    assert out.lines == ["", "", "", "kept", ""]
    assert [line for line, _ in out.problems] == [1]
