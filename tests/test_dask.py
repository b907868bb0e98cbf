"""The Dask path: the same bytes, the same report as the local batch, on a real two-worker cluster.

One LocalCluster (two single-threaded worker processes on loopback) serves the whole module. The
rules are a fixed handful of the shipped files, carried as text, so that workers build them fast
and the comparison does not depend on the rest of the library.
"""

import dataclasses
import gzip
import json
import logging
import os
import signal
import sys
from collections import namedtuple
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.bag")
pytest.importorskip("fsspec")

from distributed import Client, LocalCluster  # noqa: E402

from cleaner import CleanerError  # noqa: E402
from cleaner.batch import Batch, Settings, plan  # noqa: E402
from cleaner.bench.corpus import Generator  # noqa: E402
from cleaner.dask import (  # noqa: E402
    RuleSpec,
    as_url,
    clean_bag,
    clean_dataframe,
    clean_partition,
    require_dask,
    run_files,
)
from cleaner.reader import separator_pattern  # noqa: E402
from cleaner.rules import shipped_dir  # noqa: E402

BLOCK = 16 << 10  # the local batch splits JSONL above this; the cluster cuts ranges of 1 to 16 blocks
RULE_FILES = ["ads.toml", "share.toml", "newsletter.toml", "paywall.toml", "comments.toml", "related.toml"]


def jsonl(generator: Generator, size: int, bad_every: int = 0) -> bytes:
    lines, total = [], 0
    while total < size:
        body, _, _ = generator.document()
        if bad_every and len(lines) % bad_every == bad_every - 1:
            line = '{"id": "broken", "text": \n'  # malformed: skipped under --on-error skip
        else:
            line = json.dumps({"id": f"r{len(lines)}", "text": "\n".join(body) + "\n", "n": len(lines)}) + "\n"
        if bad_every and len(lines) % 13 == 12:
            line = "\ufeff" + line  # files joined with `cat`: malformed, wherever a range or block starts
        lines.append(line)
        total += len(line)
    return "".join(lines).encode("utf-8")


def make_corpus(root: Path, big: int = 400_000) -> Path:
    """Text files, a text file of form-feed separated documents, small and big JSONL (the big
    one with malformed records, split on the cluster), a gzipped JSONL cut into compressed
    blocks, and a Multi-News file."""
    generator = Generator(5)

    def document() -> str:
        return "\n".join(generator.document()[0]) + "\n"

    (root / "news" / "2024").mkdir(parents=True)
    for index in range(3):
        (root / "news" / f"a{index}.txt").write_text(document() + "\n" + document(), encoding="utf-8")
    (root / "news" / "2024" / "dump.txt").write_text("\f\n".join(document() for _ in range(30)), encoding="utf-8")
    (root / "news" / "2024" / "small.jsonl").write_bytes(jsonl(generator, 20_000))
    (root / "big.jsonl").write_bytes(jsonl(generator, big, bad_every=97))
    (root / "news" / "zipped.jsonl.gz").write_bytes(gzip.compress(jsonl(generator, 250_000), mtime=0))
    stories = [" ||||| ".join(document().replace("\n", "NEWLINE_CHAR") for _ in range(3)) for _ in range(20)]
    (root / "news" / "train.src").write_text("\n".join(stories) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def spec() -> RuleSpec:
    files = [shipped_dir() / name for name in RULE_FILES]
    return RuleSpec.of(rule_files=[f for f in files if f.exists()], shipped=False)


def settings() -> Settings:
    return Settings(on_error="skip")  # no --doc-sep: small text files go several to a task


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def local(tmp_path_factory, corpus, spec):
    """The reference: the local batch, in this process."""
    out = tmp_path_factory.mktemp("local") / "out"
    audit = out.parent / "audit.jsonl"
    jobs = plan([corpus], out)
    local_settings = settings()
    local_settings.explain, local_settings.root = True, os.path.realpath(out)
    with open(audit, "w", encoding="utf-8") as handle:
        summary = Batch(jobs, spec.cleaner().rules, local_settings, workers=1, audit=handle, block_size=BLOCK).run()
    return out, audit.read_text(encoding="utf-8"), summary


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as client:
        yield client


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def totals(summary) -> dict:
    report = summary.as_dict()
    for key in ("seconds", "workers", "per_file"):
        report.pop(key)
    report["errors"] = sorted(report["errors"], key=json.dumps)
    return report


def per_file(summary, out: Path) -> list:
    rows = [dict(row, output=os.path.relpath(row["output"], out)) for row in summary.as_dict()["per_file"]]
    return sorted(rows, key=json.dumps)


def run_on(client, corpus, out, spec, **options):
    audit = out.parent / f"{out.name}.audit.jsonl"
    with open(audit, "w", encoding="utf-8") as handle:
        summary = run_files(client, [corpus], out, spec, settings(), audit=handle, block_size=BLOCK, **options)
    return summary, audit.read_text(encoding="utf-8")


def test_cluster_run_is_the_local_run(cluster, client, corpus, local, spec, tmp_path):
    out = tmp_path / "out"
    seen = {entry[0] for entry in cluster.scheduler.transition_log}
    summary, audit = run_on(client, corpus, out, spec)
    tasks = {entry[0].split("-")[1] for entry in cluster.scheduler.transition_log if entry[0] not in seen}
    ranges = {entry[0] for entry in cluster.scheduler.transition_log if "-range-" in entry[0]} - seen
    assert tasks == {"small", "file", "range", "join", "blocks"} and len(ranges) > 2  # big.jsonl split, .gz blocks
    local_out, local_audit, local_summary = local
    assert tree(out) == tree(local_out)  # every output, byte for byte, and nothing else
    assert sorted(audit.splitlines()) == sorted(local_audit.splitlines())
    assert totals(summary) == totals(local_summary)
    assert per_file(summary, out) == per_file(local_summary, local_out)
    report = summary.as_dict()
    assert report["files"]["cleaned"] == 8 and report["removals"]["total"] > 50
    assert report["records"]["malformed_skipped"] > 0 and report["errors"]  # lines counted across ranges
    assert summary.workers == 2


def test_separated_text_is_split_on_the_cluster_as_the_local_batch_splits_it(cluster, client, spec, tmp_path):
    """A large plain-text file of separated documents goes in ranges (plain) and in blocks
    (compressed) that end after a separator line: the same outputs, audit and counts."""
    generator = Generator(7)
    text = "\f\n".join("\n".join(generator.document()[0]) + "\n" for _ in range(300))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "dump.txt").write_text(text, encoding="utf-8")
    (tmp_path / "in" / "dump.txt.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    separated = dataclasses.replace(settings(), separator=separator_pattern("\\f"))
    local_settings = dataclasses.replace(separated, explain=True, root=os.path.realpath(tmp_path / "local"))
    with open(tmp_path / "local.jsonl", "w", encoding="utf-8") as handle:
        local = Batch(plan([tmp_path / "in"], tmp_path / "local"), spec.cleaner().rules, local_settings, workers=1,
                      audit=handle, block_size=BLOCK).run()
    seen = {entry[0] for entry in cluster.scheduler.transition_log}
    with open(tmp_path / "dask.jsonl", "w", encoding="utf-8") as handle:
        summary = run_files(client, [tmp_path / "in"], tmp_path / "dask", spec, separated, audit=handle, block_size=BLOCK)
    keys = {entry[0] for entry in cluster.scheduler.transition_log} - seen
    assert sum("-range-" in key for key in keys) > 2 and any("-blocks-" in key for key in keys)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    audit = (tmp_path / "dask.jsonl").read_text(encoding="utf-8")
    assert sorted(audit.splitlines()) == sorted((tmp_path / "local.jsonl").read_text(encoding="utf-8").splitlines())
    assert totals(summary) == totals(local) and summary.as_dict()["documents"] == 2 * 300
    numbers = {int(json.loads(line)["document"].rsplit("#", 1)[1]) for line in audit.splitlines()}
    assert max(numbers) > 250 and len(numbers) > 50  # documents numbered across ranges and blocks


def test_fsspec_urls_and_resume(client, corpus, local, spec, tmp_path):
    out = tmp_path / "out"
    summary = run_files(client, [f"file://{corpus}"], f"file://{out}", spec, settings(), block_size=BLOCK)
    assert tree(out) == tree(local[0])
    assert summary.as_dict()["files"]["cleaned"] == 8
    (out / "news" / "a0.txt").unlink()
    again = run_files(client, [f"file://{corpus}"], f"file://{out}", spec, settings(), block_size=BLOCK, resume=True)
    assert again.as_dict()["files"] == dict(summary.as_dict()["files"], cleaned=1, already_done=7)
    assert tree(out) == tree(local[0])


def test_command_line_scheduler_matches_local(cluster, corpus, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cleaner.cli import app

    monkeypatch.chdir(tmp_path)

    def clean(*args):
        command = ["clean", str(corpus / "news"), "-q", "--doc-sep", "\\f", "--block-size", str(BLOCK), *args]
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / args[args.index("--report") + 1]).read_text())

    local_report = clean("-o", "local", "--report", "local.json", "--workers", "1")
    dask_report = clean("-o", "dask", "--report", "dask.json", "--scheduler", cluster.scheduler_address)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    for report in (local_report, dask_report):
        for key in ("seconds", "workers", "per_file"):
            report.pop(key)
    assert dask_report == local_report and local_report["removals"]["total"] > 0


def test_scheduler_needs_output_and_a_reachable_scheduler(tmp_path, spec):
    from typer.testing import CliRunner

    from cleaner.cli import app

    (tmp_path / "a.txt").write_text("Advertisement\nText.\n")
    result = CliRunner().invoke(app, ["clean", str(tmp_path / "a.txt"), "--scheduler", "local:2"])
    assert result.exit_code == 2 and "--scheduler needs -o OUTDIR" in result.output
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(CleanerError, match="^cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
            run_files("tcp://127.0.0.1:9", [tmp_path / "a.txt"], tmp_path / "out", spec)
    with pytest.raises(CleanerError, match="local:N"):
        run_files("local:0", [tmp_path / "a.txt"], tmp_path / "out", spec)


def test_clean_bag_and_dataframe(client, spec):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas

    cleaner = spec.cleaner()
    texts = ["Advertisement\nThe council met.\n", "Share this article\nRain is due.\n", "Plain text.\n"] * 4
    bag = db.from_sequence(texts, npartitions=3)
    assert client.compute(clean_bag(bag, rules=spec)).result() == [cleaner.clean_text(t) for t in texts]
    records = db.from_sequence([{"id": i, "text": t} for i, t in enumerate(texts)], npartitions=2)
    cleaned = client.compute(clean_bag(records, "text", rules=spec)).result()
    assert [r["text"] for r in cleaned] == [cleaner.clean_text(t) for t in texts]
    frame = pandas.DataFrame({"id": range(len(texts)), "text": texts})
    cleaned = client.compute(clean_dataframe(dd.from_pandas(frame, npartitions=3), "text", rules=spec)).result()
    assert list(cleaned["text"]) == [cleaner.clean_text(t) for t in texts]
    assert list(cleaned["id"]) == list(frame["id"])


def test_a_killed_worker_neither_corrupts_nor_duplicates(cluster, client, corpus, local, spec, tmp_path):
    out = tmp_path / "out"
    pids = client.run(os.getpid)
    killed = []

    def kill_one(client, finished, total):
        """After the first result: SIGKILL the worker with the most tasks in hand, at once."""
        if killed:
            return
        busy = max(client.processing().items(), key=lambda item: len(item[1]))
        if busy[1]:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append((finished, total))

    summary, audit = run_on(client, corpus, out, spec, partition_size=64 << 10, on_result=kill_one)
    local_out, local_audit, local_summary = local
    assert killed and killed[0][0] < killed[0][1]  # it died mid-run, with work in hand
    runs = {}
    for key, _, to, *_ in cluster.scheduler.transition_log:
        runs[key] = runs.get(key, 0) + (to == "processing")
    assert max(runs.values()) >= 2  # Dask ran the dead worker's tasks again, elsewhere
    assert tree(out) == tree(local_out)  # no temporary file, no part, no half-written output left
    assert sorted(audit.splitlines()) == sorted(local_audit.splitlines())  # nothing counted twice
    assert totals(summary) == totals(local_summary)
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())  # the nanny started a new worker


def test_clean_partition_for_spark_and_ray(spec, monkeypatch):
    import numpy
    import pandas

    from cleaner import dask as cleaner_dask

    cleaner = spec.cleaner()
    texts = ["Advertisement\nThe council met.\n", "Rain is due.\n"]
    expected = [cleaner.clean_text(t) for t in texts]
    assert expected[0] == "The council met.\n"
    assert list(clean_partition(iter(texts), rules=spec)) == expected
    generator = Generator(9)
    many = ["\n".join(generator.document()[0]) + "\n" for _ in range(300)]
    monkeypatch.setattr(cleaner_dask, "GROUP_BYTES", 5000)  # many groups, each scanned as one
    assert list(clean_partition(many, rules=spec)) == [cleaner.clean_text(t) for t in many] != many
    assert list(clean_partition([t.encode() for t in texts], rules=spec)) == [e.encode() for e in expected]
    # Spark: rdd.mapPartitions over Rows (anything with asDict) or dicts
    class Row:  # what pyspark.sql.Row offers here: Row(**fields) and asDict()
        def __init__(self, **fields):
            self.__dict__.update(fields)

        def asDict(self):
            return dict(self.__dict__)

    rows = list(clean_partition([Row(id=1, text=t) for t in texts], "text", rules=spec))
    assert [r.text for r in rows] == expected and rows[0].id == 1
    Record = namedtuple("Record", "id text")
    assert [r.text for r in clean_partition([Record(1, t) for t in texts], "text", rules=spec)] == expected
    assert list(clean_partition([{"text": None}, {"other": 1}], "text", rules=spec)) == [{"text": None}, {"other": 1}]
    # Ray Data: map_batches hands out a dict of arrays (or a pandas frame with batch_format="pandas")
    batch = clean_partition({"id": numpy.array([1, 2]), "text": numpy.array(texts, dtype=object)}, rules=spec)
    assert list(batch["text"]) == expected and list(batch["id"]) == [1, 2]
    frame = clean_partition(pandas.DataFrame({"text": texts}), rules=spec)
    assert list(frame["text"]) == expected


def test_missing_extra_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(CleanerError, match=r"pip install 'cleaner\[dask\]'"):
        require_dask()


def test_workers_with_other_rules_refuse():
    with pytest.raises(CleanerError, match="differ"):
        RuleSpec(library="0" * 16).cleaner()


def test_urls_survive_the_command_line_paths():
    assert as_url(Path("s3://bucket/dump/a.jsonl")) == "s3://bucket/dump/a.jsonl"
    assert as_url(Path("file:///tmp/corpus")) == "file:///tmp/corpus"
    assert as_url(Path("relative/dir")) == "relative/dir"
    assert as_url("gs://bucket/x") == "gs://bucket/x"
