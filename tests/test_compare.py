"""The benchmark's arithmetic: paired ratios and the target verdicts (no timing is asserted)."""

from cleaner.bench.compare import GREP_UTF8, HYPERSCAN, ONE, RE_PEER, RIPGREP, paired, targets


def test_a_ratio_pairs_the_rounds():
    # Round 2 was slow for the 2-worker run only: it lowers one round's ratio, not the result.
    rates = {ONE: [30.0, 20.0, 40.0], "cleaner, 2 workers": [60.0, 30.0, 50.0]}
    assert paired(rates, "cleaner, 2 workers", ONE) == 1.5  # per round 2.0, 1.5, 1.25
    assert paired(rates, ONE, ONE) == 1.0


def test_a_command_run_once_is_paired_with_the_first_round():
    assert paired({ONE: [30.0, 20.0, 40.0], RE_PEER: [0.1]}, ONE, RE_PEER) == 300.0


def test_targets_say_what_was_met_and_what_was_skipped():
    rates = {
        ONE: [36.0, 41.0, 44.0],
        "cleaner, 2 workers": [61.2, 70.0, 75.0],
        RE_PEER: [0.1],
        GREP_UTF8: [12.0, 12.0, 12.0],
        RIPGREP: [150.0, 150.0, 150.0],
    }
    verdicts = {label: (measured, met) for label, measured, met in targets(rates, 2, 97.4)}
    assert verdicts["1 worker >= 40 MB/s"] == ("41.0 MB/s", True)
    assert verdicts["2 workers >= 1.7x 1 worker"] == ("1.70x", True)  # per round 1.700, 1.707, 1.705
    assert verdicts[">= 10x the Python re cleaner"] == ("360x", True)
    assert verdicts["faster than GNU grep (UTF-8)"] == ("3.42x", True)
    assert verdicts["hyperscan, 1 worker, faster than ripgrep"] == ("skipped", None)  # not installed
    assert verdicts["peak RSS <= 150 MB"] == ("97 MB", True)


def test_a_target_missed_is_no():
    rates = {ONE: [30.0], "cleaner, 4 workers": [45.0], HYPERSCAN: [31.0], RIPGREP: [150.0]}
    verdicts = {label: met for label, _, met in targets(rates, 4, None)}
    assert verdicts["1 worker >= 40 MB/s"] is False
    assert verdicts["4 workers >= 1.7x 1 worker"] is False
    assert verdicts["hyperscan, 1 worker, faster than ripgrep"] is False
    assert verdicts["peak RSS <= 150 MB"] is None
