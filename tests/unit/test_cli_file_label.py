"""The CLI's stand-in for a thumbnail: a short file-type label for documents and media."""

from __future__ import annotations

import pytest

from intake_cli import output


@pytest.mark.parametrize(
    ("content_type", "label"),
    [
        ("application/pdf", "PDF"),
        ("application/zip", "ZIP"),
        ("video/mp4", "MP4"),
        ("video/quicktime", "MOV"),
        ("audio/mpeg", "MP3"),
        ("image/jpeg", ""),  # an image has thumbnails (or a reason it has none)
        ("", ""),
    ],
)
def test_each_document_type_has_a_short_label(content_type: str, label: str) -> None:
    assert output.file_label({"content_type": content_type}) == label


def test_ls_and_show_print_the_label_where_there_is_no_thumbnail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record = {
        "upload_id": "u1",
        "filename": "minutes.pdf",
        "status": "ready",
        "content_type": "application/pdf",
    }
    image = {"upload_id": "u2", "filename": "cat [1].jpg", "status": "ready", "content_type": "image/jpeg"}
    monkeypatch.setattr(output.out, "width", 200)
    output.print_page({"items": [record, image]})
    printed = capsys.readouterr().out
    assert "minutes.pdf [PDF]" in printed and "cat [1].jpg" in printed  # a name's brackets print as given
    output.print_record(record | {"thumbnails": []})
    assert "none (PDF file)" in capsys.readouterr().out
