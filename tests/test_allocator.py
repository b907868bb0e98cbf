"""The command keeps freed chunk-sized memory in its heap (glibc's mallopt); elsewhere it does nothing."""

import pytest

from cleaner import allocator, cli


class FakeLibc:
    def __init__(self, answer=1):
        self.calls, self.answer = [], answer

    def mallopt(self, option, value):
        self.calls.append((option, value))
        return self.answer


def test_both_thresholds_are_set_above_a_chunks_working_set():
    libc = FakeLibc()
    assert allocator.keep_freed_memory(libc) is True
    settings = dict(libc.calls)
    mmap_threshold, trim_threshold = -3, -1  # the option numbers of glibc's <malloc.h>
    assert settings[mmap_threshold] == 32 << 20  # glibc refuses more
    assert settings[trim_threshold] >= settings[mmap_threshold]


def test_a_c_library_without_mallopt_or_refusing_it_is_left_alone():
    assert allocator.keep_freed_memory(object()) is False
    assert allocator.keep_freed_memory(FakeLibc(answer=0)) is False


def test_the_command_line_tunes_its_own_process(monkeypatch):
    called = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: called.append(True))
    monkeypatch.setattr("sys.argv", ["cleaner", "--help"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 0 and called == [True]


def test_the_real_c_library_takes_it_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert allocator.keep_freed_memory() is True
