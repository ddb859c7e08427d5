from borderflow.analysis.decode.media import (
    is_form_type,
    is_json_type,
    is_opaque,
    is_xml_type,
    media_type,
)


def test_media_types():
    assert media_type("Application/JSON; charset=utf-8") == "application/json"
    assert is_json_type("application/vnd.api+json")
    assert is_xml_type("text/xml; charset=UTF-8")
    assert is_xml_type("application/soap+xml")
    assert is_form_type("application/x-www-form-urlencoded;charset=utf-8")
    assert is_opaque("image/png")
    assert not is_opaque("application/octet-stream")
