"""`make demo`: push a few generated images through the local cloud and show what happened.

Uploads go in as a user's would: sign in to Cognito as the demo user, POST /uploads to the API, then
the presigned POST straight to S3 (the same client code as the `intake` CLI).
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from intake.records import Records
from intake.status import FINAL_STATUSES
from intake_build.artifacts import build
from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.cognito import sign_in
from localcloud.cloud import LocalCloud
from localcloud.users import DEMO_EMAIL, DEMO_PASSWORD


@dataclass(frozen=True)
class Sample:
    filename: str
    content_type: str
    data: bytes
    title: str


def _photo(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 8):
        draw.rectangle((0, y, width, y + 8), fill=(40 + y * 180 // height, 90, 200 - y * 150 // height))
    draw.ellipse(
        (width // 3, height // 4, width // 3 + height // 2, height // 4 + height // 2), fill=(250, 210, 60)
    )
    return image


def samples() -> list[Sample]:
    jpeg = io.BytesIO()
    _photo(2400, 1600).save(jpeg, "JPEG", quality=88)
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held sideways
    _photo(1200, 800).save(rotated, "JPEG", exif=exif.tobytes())
    png = io.BytesIO()
    logo = Image.new("RGBA", (900, 600), (0, 0, 0, 0))
    ImageDraw.Draw(logo).rounded_rectangle((100, 100, 800, 500), 80, fill=(30, 140, 90, 255))
    logo.save(png, "PNG")
    broken = jpeg.getvalue()[: len(jpeg.getvalue()) // 3]
    return [
        Sample("sunset photo.jpg", "image/jpeg", jpeg.getvalue(), "Sunset"),
        Sample("portrait+rotated.jpg", "image/jpeg", rotated.getvalue(), "Rotated by EXIF"),
        Sample("logo ✓ transparent.png", "image/png", png.getvalue(), "Logo with alpha"),
        Sample("broken.jpg", "image/jpeg", broken, "Truncated on purpose"),
    ]


def sign_in_demo_user(cloud: LocalCloud) -> IntakeApi:
    settings = config.discover(api_url=cloud.api_url)  # the ids from the front's config.js
    return IntakeApi(settings, sign_in(settings, DEMO_EMAIL, DEMO_PASSWORD))


def upload(api: IntakeApi, sample: Sample) -> str:
    """POST /uploads, then the presigned POST of the bytes; returns the upload id."""
    size = len(sample.data)
    grant = api.create_upload(sample.filename, sample.content_type, size, {"title": sample.title})
    api.send(grant, io.BytesIO(sample.data), size, sample.content_type, sample.filename)
    return str(grant["upload_id"])


def sent_emails(cloud: LocalCloud) -> list[dict[str, Any]]:
    import requests

    data = requests.get(f"{cloud.endpoint}/moto-api/data.json", timeout=10).json()
    return list(data.get("ses", {}).get("Message", []))


def wait_until_final(
    cloud: LocalCloud, records: Records, ids: list[str], timeout_s: float = 90
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = {upload_id: records.get(upload_id) for upload_id in ids}
        items = [  # the report reads plain dicts: the typed record, without the fields it does not have
            r.model_dump(mode="json", exclude_none=True) if r else {"upload_id": upload_id, "status": "?"}
            for upload_id, r in found.items()
        ]
        done = all(item["status"] in FINAL_STATUSES and item.get("notified") for item in items)
        if done or time.monotonic() > deadline:
            return items
        time.sleep(0.3)


def dlq_depths(cloud: LocalCloud) -> dict[str, str]:
    sqs = cloud.client("sqs")
    depths = {}
    for name in ("Validate", "Thumbnail", "Index", "Notify"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=cloud.outputs[f"{name}DLQUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        depths[name.lower()] = attributes["ApproximateNumberOfMessages"]
    return depths


def report(console: Console, cloud: LocalCloud, items: list[dict[str, Any]], seconds: float) -> None:
    index = Table(title=f"Index records (DynamoDB {cloud.outputs['IndexTableName']})")
    for column in ("upload id", "file", "status", "size", "pixels", "reasons"):
        index.add_column(column)
    thumbs = Table(title=f"Thumbnails (S3 {cloud.outputs['ThumbnailBucketName']})")
    for column in ("file", "key", "size", "bytes"):
        thumbs.add_column(column)
    for item in items:
        style = {"ready": "green", "rejected": "yellow", "failed": "red"}.get(item["status"], "")
        pixels = f"{item['width']}x{item['height']}" if item.get("width") else ""
        index.add_row(
            item["upload_id"][:8],
            item.get("filename", ""),
            f"[{style}]{item['status']}[/]",
            str(item.get("size", "")),
            pixels,
            "; ".join(item.get("status_reasons", [])),
        )
        for thumb in item.get("thumbnails", []):
            thumbs.add_row(
                item.get("filename", ""),
                thumb["key"],
                f"{thumb['width']}x{thumb['height']}",
                str(thumb["bytes"]),
            )
    emails = Table(title="Emails sent (SES)")
    for column in ("to", "subject"):
        emails.add_column(column)
    for message in sent_emails(cloud):
        emails.add_row(", ".join(message["destinations"]["ToAddresses"]), message["subject"])
    dlqs = Table(title="Dead-letter queues")
    dlqs.add_column("queue")
    dlqs.add_column("messages")
    for name, depth in dlq_depths(cloud).items():
        dlqs.add_row(f"{name} DLQ", depth)
    for table in (index, thumbs, emails, dlqs):
        console.print(table)
    console.print(f"{len(items)} uploads reached a final state in {seconds:.1f} s")


def main(parameters: dict[str, str] | None = None) -> int:
    console = Console(width=None if sys.stdout.isatty() else 130)
    with console.status("building the artifacts and starting the local cloud"):
        cloud = LocalCloud(build(), parameters=parameters).start()
    try:
        console.print(
            f"local cloud up at {cloud.endpoint}, stack '{cloud.deployment.stack_name if cloud.deployment else ''}'"
        )
        records = Records(cloud.outputs["IndexTableName"], client=cloud.client("dynamodb"))
        api = sign_in_demo_user(cloud)
        console.print(f"signed in as {DEMO_EMAIL}; API at {cloud.api_url}; CloudFront at {cloud.cdn_url}")
        started = time.monotonic()
        ids = []
        for sample in samples():
            ids.append(upload(api, sample))
            console.print(f"uploaded {sample.filename!r} ({len(sample.data)} bytes, presigned POST)")
        with console.status("waiting for the pipeline"):
            items = wait_until_final(cloud, records, ids)
        report(console, cloud, items, time.monotonic() - started)
        unfinished = [item for item in items if item["status"] not in FINAL_STATUSES]
        return 1 if unfinished else 0
    finally:
        with console.status("stopping"):
            cloud.stop()
        console.print("local cloud stopped")
