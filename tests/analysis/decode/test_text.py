from borderflow.analysis.decode.text import printable_text


def test_utf8_text_with_few_controls_is_text():
    assert printable_text("张三 says hi\n".encode()) == "张三 says hi\n"
    assert printable_text(b"a" * 99 + b"\x01") is not None


def test_binary_and_blank_bytes_are_not():
    assert printable_text(bytes(range(32))) is None
    assert printable_text(b"\xff\xfe") is None
    assert printable_text(b"   ") is None
    assert printable_text(b"ab", min_length=3) is None
