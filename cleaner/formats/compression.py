"""Compression by file name: gzip, bz2, xz and zstd, for reading and for writing.

Reading hands out a plain binary stream of the decompressed bytes. A compressed input that is
truncated or corrupt raises CorruptInput (one message, whichever library found the damage), and
an input holding NUL bytes raises BinaryInput, so callers see two errors rather than a dozen.
Writing produces one complete stream; `compress` produces one complete stream (a gzip member,
a bz2 or xz stream, a zstd frame) for a block, and such pieces concatenate into a valid file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path
from typing import BinaryIO

import zstandard

SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}
COMPRESSIONS = ("gzip", "bz2", "xz", "zstd")
# Output levels: the usual defaults, except xz, whose default (6) writes text at well under 1 MB/s.
GZIP_LEVEL, BZ2_LEVEL, XZ_PRESET, ZSTD_LEVEL = 6, 9, 3, 3
BUFFER = 1 << 20


class CorruptInput(Exception):
    """A compressed input that is truncated or damaged."""


class BinaryInput(Exception):
    """An input with NUL bytes: not text."""


def compression_of(name: str | Path) -> str | None:
    """The compression a file name says it has (by its last suffix), or None."""
    return SUFFIXES.get(Path(name).suffix.lower())


def strip_compression(name: str) -> str:
    """The name without its compression suffix: 'a.jsonl.gz' -> 'a.jsonl'."""
    suffix = Path(name).suffix
    return name[: -len(suffix)] if suffix.lower() in SUFFIXES else name


# --- reading -------------------------------------------------------------------------------


def decompressing(raw: BinaryIO, compression: str | None) -> BinaryIO:
    """A stream of the decompressed bytes of `raw` (closing it may leave `raw` open: see Source)."""
    if compression is None:
        return raw
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "bz2":
        return bz2.BZ2File(raw, "rb")
    if compression == "xz":
        return lzma.LZMAFile(raw, "rb")
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(_ZstdFrames(raw), read_across_frames=True, closefd=True)
    raise ValueError(f"unknown compression {compression!r}")


class Source(io.RawIOBase):
    """The bytes of a (decompressed) stream, counted, checked for NUL bytes, with decompression
    errors turned into CorruptInput. Wrap it in io.BufferedReader (see `open_input`)."""

    def __init__(self, stream: BinaryIO, compression: str | None = None, binary_check: bool = True, raw=None):
        self.stream = stream
        self.raw = raw  # the file under a decompressor, which does not close it
        self.compression = compression
        self.binary_check = binary_check
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            if hasattr(self.stream, "readinto"):
                count = self.stream.readinto(buffer)
            else:
                data = self.stream.read(len(buffer))
                count = len(data)
                buffer[:count] = data
        except (EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError, gzip.BadGzipFile) as error:
            raise CorruptInput(_corrupt_message(self.compression, error)) from None
        except OSError as error:
            if self.compression is not None and error.errno is None:  # bz2: "Invalid data stream"
                raise CorruptInput(_corrupt_message(self.compression, error)) from None
            raise
        if self.binary_check and count and memoryview(buffer)[:count].tobytes().find(b"\0") >= 0:
            raise BinaryInput("binary file (NUL bytes)")
        self.bytes_read += count
        return count

    def close(self) -> None:
        if not self.closed:
            try:
                self.stream.close()
                if self.raw is not None:
                    self.raw.close()
            finally:
                super().close()


def _corrupt_message(compression: str | None, error: Exception) -> str:
    detail = str(error) or type(error).__name__
    return f"corrupt or truncated {compression or 'compressed'} data ({detail})"


def open_input(path: str | Path, compression: str | None = "auto", binary_check: bool = True) -> io.BufferedReader:
    """Open a file for reading its decompressed bytes. The result's `.raw` is the Source
    (bytes_read); `compression="auto"` decides by the file name."""
    if compression == "auto":
        compression = compression_of(path)
    raw = open(path, "rb")
    try:
        stream = decompressing(raw, compression)
    except BaseException:
        raw.close()
        raise
    return io.BufferedReader(Source(stream, compression, binary_check, raw), BUFFER)


def wrap_input(stream: BinaryIO, compression: str | None = None, binary_check: bool = True) -> io.BufferedReader:
    """The same as open_input for a stream already open (standard input, a block in memory);
    closing the result leaves `stream` open."""
    stream = _Unclosing(stream)
    return io.BufferedReader(Source(decompressing(stream, compression), compression, binary_check), BUFFER)


class _ZstdFrames:
    """Passes compressed bytes through to the zstd reader while following the frame layout.

    python-zstandard's stream reader ends quietly when its input stops in the middle of a frame,
    which would turn a truncated download into a short, "complete" output. Following the frame
    and block headers (no decompression) is enough to tell a clean end from a truncated one.
    """

    MAGIC = 0xFD2FB528

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.want = 4  # bytes the current step needs
        self.got = bytearray()
        self.step = self._magic
        self.skip = 0  # payload bytes to pass over before the next step
        self.checksum = False
        self.following = True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if not data:
            if self.following and (self.skip or self.got or self.step != self._magic):
                raise CorruptInput("corrupt or truncated zstd data (the input ends inside a frame)")
            return data
        if self.following:
            self._follow(data)
        return data

    def close(self) -> None:
        self.raw.close()

    def _follow(self, data: bytes) -> None:
        position, size = 0, len(data)
        while position < size and self.following:
            if self.skip:
                taken = min(self.skip, size - position)
                self.skip -= taken
                position += taken
                continue
            taken = min(self.want - len(self.got), size - position)
            self.got += data[position : position + taken]
            position += taken
            if len(self.got) == self.want:
                header, self.got = bytes(self.got), bytearray()
                self.step(header)

    def _magic(self, header: bytes) -> None:
        magic = int.from_bytes(header, "little")
        if magic == self.MAGIC:
            self.want, self.step = 1, self._descriptor
        elif magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame: its size follows
            self.want, self.step = 4, self._skippable
        else:
            self.following = False  # not zstd: the decompressor reports it

    def _skippable(self, header: bytes) -> None:
        self.skip = int.from_bytes(header, "little")
        self.want, self.step = 4, self._magic

    def _descriptor(self, header: bytes) -> None:
        descriptor = header[0]
        single_segment = descriptor >> 5 & 1
        self.checksum = bool(descriptor >> 2 & 1)
        content_size = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
        rest = (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3] + content_size
        self.skip = rest
        self.want, self.step = 3, self._block

    def _block(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, value >> 1 & 3, value >> 3
        self.skip = 1 if kind == 1 else size  # an RLE block holds one byte
        if last:
            self.skip += 4 if self.checksum else 0
            self.want, self.step = 4, self._magic
        else:
            self.want, self.step = 3, self._block


# --- writing -------------------------------------------------------------------------------


def compressing(raw: BinaryIO, compression: str | None) -> BinaryIO:
    """A writer that compresses into `raw`. Closing it ends the compressed stream but leaves
    `raw` open. Output is reproducible (no time stamp or name in gzip headers)."""
    if compression is None:
        return _Unclosing(raw)
    if compression == "gzip":
        return gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=raw, mtime=0)
    if compression == "bz2":
        return bz2.BZ2File(raw, "wb", compresslevel=BZ2_LEVEL)
    if compression == "xz":
        return lzma.LZMAFile(raw, "wb", preset=XZ_PRESET)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw, closefd=False)
    raise ValueError(f"unknown compression {compression!r}")


def compress(data: bytes, compression: str | None) -> bytes:
    """One complete compressed stream of `data`; pieces made this way concatenate into a valid file."""
    if compression is None:
        return data
    if compression == "gzip":
        return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    if compression == "bz2":
        return bz2.compress(data, compresslevel=BZ2_LEVEL)
    if compression == "xz":
        return lzma.compress(data, preset=XZ_PRESET)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    raise ValueError(f"unknown compression {compression!r}")


class _Unclosing:
    """Reads or writes through to a stream and leaves it open on close."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False
