"""Uploads: zips are extracted safely (no escapes, no links, within the size limit)."""
from __future__ import annotations

import zipfile

import gradio as gr
import pytest

from demo.uploads import safe_extract


def test_safe_extract_refuses_escapes(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../evil.txt", "x")
    with pytest.raises(gr.Error, match="unsafe path"):
        safe_extract(bad, tmp_path / "out", max_bytes=10**6)
    assert not (tmp_path / "evil.txt").exists()
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/b.bin", b"\0" * 5000)
    with pytest.raises(gr.Error, match="over the limit"):
        safe_extract(big, tmp_path / "out2", max_bytes=1000)
    not_zip = tmp_path / "n.zip"
    not_zip.write_text("hello")
    with pytest.raises(gr.Error, match="not a zip archive"):
        safe_extract(not_zip, tmp_path / "out3", max_bytes=1000)
