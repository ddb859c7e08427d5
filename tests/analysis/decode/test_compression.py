import gzip
import zlib

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from borderflow.analysis.decode.budget import Budget, Limits
from borderflow.analysis.decode.compression import decode_content, decompress, sniff_decompress

TEXT = b'{"imei": "490154203237518"}' * 100


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_each_coding_round_trips(coding):
    budget = Budget(Limits())
    assert decompress(ENCODERS[coding](TEXT), coding, budget) == TEXT
    assert budget.problems == []
    assert budget.decoded == len(TEXT)


def test_raw_deflate_without_zlib_header_is_accepted():
    assert decompress(_deflate_raw(TEXT), "deflate", Budget(Limits())) == TEXT


def test_chain_is_undone_last_coding_first():
    body = brotli.compress(gzip.compress(TEXT))
    data, steps = decode_content(body, "gzip, br", Budget(Limits()), depth=0)
    assert data == TEXT
    assert steps == ("br", "gzip")


def test_gzip_without_header_is_sniffed():
    data, steps = decode_content(gzip.compress(TEXT), "", Budget(Limits()), depth=0)
    assert (data, steps) == (TEXT, ("gzip",))


def test_multi_member_gzip_is_read_to_the_end():
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    assert decompress(body, "gzip", Budget(Limits())) == b"first second"


def _gzip_bomb(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed in steps so the zeros never sit in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return _gzip_bomb(1024 * 1024 * 1024)  # 1 GiB of zeros in about 1 MB


def test_gzip_bomb_stops_at_output_limit(gzip_bomb):
    budget = Budget(Limits())
    data, steps = decode_content(gzip_bomb, "gzip", budget, depth=0)
    assert len(gzip_bomb) < 2 * 1024 * 1024
    assert len(data) == Limits().max_decoded
    assert steps == ("gzip",)
    assert [p.name for p in budget.problems] == ["decompression_limit"]


@pytest.mark.parametrize("coding", ["br", "zstd", "deflate"])
def test_bombs_of_every_coding_stop_at_output_limit(coding):
    body = ENCODERS[coding](bytes(4 * 1024 * 1024))
    budget = Budget(Limits(max_decoded=100_000))
    data = decompress(body, coding, budget)
    assert data is not None
    assert len(data) == 100_000
    assert [p.name for p in budget.problems] == ["decompression_limit"]


def test_limit_is_shared_by_the_codings_of_one_message():
    budget = Budget(Limits(max_decoded=len(TEXT) + 10))
    body = gzip.compress(gzip.compress(TEXT))
    data, steps = decode_content(body, "gzip", budget, depth=0)
    assert steps == ("gzip", "gzip")
    assert len(data) < len(TEXT)
    assert [p.name for p in budget.problems] == ["decompression_limit"]


def test_corrupt_stream_is_bad_content_encoding_and_input_kept():
    budget = Budget(Limits())
    data, steps = decode_content(b"plainly not gzip", "gzip", budget, depth=0)
    assert (data, steps) == (b"plainly not gzip", ())
    assert [p.name for p in budget.problems] == ["bad_content_encoding"]


def test_truncated_stream_keeps_partial_output_and_is_reported():
    budget = Budget(Limits())
    data = decompress(gzip.compress(TEXT)[:-12], "gzip", budget)
    assert data is not None
    assert TEXT.startswith(data)
    assert [p.name for p in budget.problems] == ["bad_content_encoding"]


def test_truncation_by_max_body_is_not_reported_again():
    budget = Budget(Limits())
    decompress(gzip.compress(TEXT)[:-12], "gzip", budget, truncated=True)
    assert budget.problems == []


def test_unknown_coding_is_reported():
    budget = Budget(Limits())
    data, steps = decode_content(b"abc", "compress", budget, depth=0)
    assert (data, steps) == (b"abc", ())
    assert budget.problems[0].addl == "unknown content-encoding 'compress'"


def test_identity_is_no_step():
    assert decode_content(b"abc", "identity", Budget(Limits()), depth=0) == (b"abc", ())


def test_gzip_nested_beyond_depth_limit_stops():
    body = TEXT
    for _ in range(5):
        body = gzip.compress(body)
    budget = Budget(Limits(max_depth=3))
    _, steps = decode_content(body, "", budget, depth=0)
    assert len(steps) == 3
    assert [p.name for p in budget.problems] == ["depth_limit"]


def test_compression_inside_a_value_is_found_by_its_magic_bytes():
    budget = Budget(Limits())
    assert sniff_decompress(gzip.compress(TEXT), budget) == ("gzip", TEXT)
    assert sniff_decompress(zlib.compress(TEXT), budget) == ("zlib", TEXT)
    assert sniff_decompress(zstandard.ZstdCompressor().compress(TEXT), budget) == ("zstd", TEXT)
    assert sniff_decompress(b"plain", budget) is None
    assert sniff_decompress(b"\x78\x9cnot zlib at all", budget) is None
    assert budget.problems == []  # nothing promised compression: a failure is no problem
