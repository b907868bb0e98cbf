"""The command line as a shell user meets it: pipes, files, exit codes, one-line errors."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

RULES = """
[[rule]]
code = "TST001"
category = "ads"
description = "Advertisement label"
kind = "line"
anchors = ["advertisement"]
whole_line = true
examples = ["Advertisement"]
keep = ["The advertisement ran for a week."]

[[rule]]
code = "TST002"
category = "comments"
description = "Comment section"
kind = "tail"
anchors = ["join the conversation"]
max_lines = 3
max_len = 40
examples = ["Join the conversation\\n3 comments"]
keep = ["Residents were invited to join the conversation about the new bridge at the town hall."]
"""

ARTICLE = "Title\n\nAdvertisement\n\nThe council met.\nJoin the conversation\n4 comments\n"
CLEANED = "Title\n\nThe council met.\n"


def run(*args, input=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cleaner", *args], input=input, capture_output=True, cwd=cwd, timeout=120
    )


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "test-rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return ["--rules", str(path), "--select", "TST"]


def test_clean_stdin_to_stdout(rules, tmp_path):
    result = run("clean", *rules, input=ARTICLE.encode(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == CLEANED


def test_clean_files_each_is_a_document(rules, tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    (tmp_path / "b.txt").write_text("Join the conversation\n")
    result = run("clean", *rules, "a.txt", "b.txt", cwd=tmp_path)
    assert result.stdout.decode() == CLEANED


def test_explain_writes_an_audit_and_leaves_stdout_unchanged(rules, tmp_path):
    result = run("clean", *rules, "--explain", "audit.jsonl", "--stats", input=ARTICLE.encode(), cwd=tmp_path)
    assert result.stdout.decode() == CLEANED
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["line"], r["code"], r["category"]) for r in records] == [(3, "TST001", "ads"), (6, "TST002", "comments")]
    assert records[0]["text"] == "Advertisement" and records[0]["document"] == "<stdin>"
    assert "TST001" in result.stderr.decode() and "total" in result.stderr.decode()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".audit")]  # no temporary left


def test_stats_alone_counts_the_removals_of_every_worker(rules, tmp_path):
    """Without --stats or --explain no removal is recorded (workers hand nothing back): --stats
    alone must still turn recording on, in the workers too."""
    (tmp_path / "in.txt").write_text(ARTICLE * 50)
    result = run("clean", *rules, "--stats", "--workers", "2", "--chunk-size", "200", "--doc-sep", "", "in.txt",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[2] for line in result.stderr.decode().splitlines()[1:-1]}
    assert rows == {"TST001": "50", "TST002": "50"}


def test_explain_to_a_stream_named_as_a_file_is_written_as_it_goes(rules, tmp_path):
    """/dev/stderr cannot be replaced by a rename: the audit goes straight to the stream."""
    result = run("clean", *rules, "--explain", "/dev/stderr", input=ARTICLE.encode(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == CLEANED
    records = [json.loads(line) for line in result.stderr.decode().splitlines()]
    assert [(r["line"], r["code"]) for r in records] == [(3, "TST001"), (6, "TST002")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_explain_to_a_named_pipe(rules, tmp_path):
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    reading = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the audit is small: it fits the pipe's buffer
    try:
        result = run("clean", *rules, "--explain", str(fifo), input=ARTICLE.encode(), cwd=tmp_path)
        os.set_blocking(reading, True)
        audit = os.read(reading, 1 << 16).decode()
    finally:
        os.close(reading)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == CLEANED
    assert [json.loads(line)["code"] for line in audit.splitlines()] == ["TST001", "TST002"]
    assert fifo.is_fifo()  # not replaced by a regular file
    assert sorted(os.listdir(tmp_path)) == ["audit.fifo", "test-rules.toml"]  # no temporary beside it


def test_doc_sep_makes_documents_on_stdin(rules, tmp_path):
    text = "A.\nJoin the conversation\n\f\nB.\n"
    result = run("clean", *rules, "--doc-sep", "\\f", input=text.encode(), cwd=tmp_path)
    assert result.stdout.decode() == "A.\n\f\nB.\n"


def test_missing_file_is_one_line_and_exit_1(rules, tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    result = run("clean", *rules, "nope.txt", "a.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == "cleaner: nope.txt: No such file or directory\n"
    assert result.stdout.decode() == CLEANED  # the other file is still cleaned


def test_unknown_code_is_exit_2_with_nearest_codes(rules, tmp_path):
    result = run("clean", *rules[:2], "--select", "TST01", input=b"", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown rule code or prefix 'TST01'" in result.stderr.decode()
    assert "TST001" in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_bad_rule_file_is_exit_2_with_path_and_line(tmp_path):
    (tmp_path / "bad.toml").write_text(RULES.replace('kind = "tail"', 'kind = "tale"'))
    result = run("clean", "--rules", "bad.toml", input=b"", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("cleaner: bad.toml:16: rule TST002: unknown kind 'tale'")


def test_closed_pipe_exits_quietly(rules, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(ARTICLE * 200_000)
    args = " ".join(rules)
    script = f"{sys.executable} -m cleaner clean {args} big.txt | head -1; echo ${{PIPESTATUS[0]}} >&2"
    result = subprocess.run(["bash", "-c", script], capture_output=True, cwd=tmp_path, timeout=300)
    assert result.stderr.decode() == "0\n"
    assert result.stdout == b"Title\n"


def test_ctrl_c_exits_130_without_traceback(rules, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "cleaner", "clean", *rules],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    process.stdin.write(b"Title\n")
    process.stdin.flush()
    time.sleep(3)  # let it start and block on reading
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert b"Traceback" not in stderr


def test_rules_rule_and_check_rules(rules, tmp_path):
    listing = run("rules", *rules, cwd=tmp_path)
    assert listing.returncode == 0
    assert "TST001" in listing.stdout.decode() and "Advertisement label" in listing.stdout.decode()
    page = run("rule", "TST002", *rules[:2], cwd=tmp_path)
    assert "tail" in page.stdout.decode() and "Join the conversation" in page.stdout.decode()
    check = run("check-rules", rules[1], cwd=tmp_path)
    assert check.returncode == 0, check.stdout.decode()


def test_check_rules_fails_when_a_keep_text_is_touched(tmp_path):
    broken = RULES.replace('keep = ["The advertisement ran for a week."]', 'keep = ["Advertisement!"]')
    (tmp_path / "r.toml").write_text(broken)
    check = run("check-rules", "r.toml", cwd=tmp_path)
    assert check.returncode == 1
    assert "TST001" in check.stdout.decode() and "keep-text was touched" in check.stdout.decode()
