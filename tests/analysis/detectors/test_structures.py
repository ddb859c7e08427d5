import pytest

from borderflow.analysis.detectors.structures import is_package_name


@pytest.mark.parametrize(
    "text", ["com.tencent.mm", "com.eg.android.AlipayGphone", "tv.danmaku.bili", "com.icbc"]
)
def test_package_names(text):
    assert is_package_name(text)


@pytest.mark.parametrize(
    "text",
    ["android.permission.CAMERA", "api.example.com", "com.example.MainActivity", "1.2.3", "hello"],
)
def test_not_package_names(text):
    assert not is_package_name(text)
