from borderflow.analysis.decode.multipart import boundary, split_parts

BODY = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="phone"\r\n\r\n'
    b"13812345678\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="meta"\r\n'
    b"Content-Type: application/json\r\n\r\n"
    b'{"a": 1}\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"aGVsbG8=\r\n"
    b"--XyZ--\r\n"
)


def test_parts_keep_name_filename_type_and_decoded_content():
    parts = split_parts(BODY, "multipart/form-data; boundary=XyZ")
    assert parts is not None
    assert [(p.name, p.filename, p.content_type, p.data) for p in parts] == [
        ("phone", None, "", b"13812345678"),
        ("meta", None, "application/json", b'{"a": 1}'),
        ("doc", "a.txt", "", b"hello"),
    ]


def test_boundary_may_be_quoted_and_must_occur():
    assert boundary('multipart/mixed; boundary="a b"') == b"a b"
    assert boundary("multipart/form-data") is None
    assert split_parts(b"no parts here", "multipart/form-data; boundary=q") is None
