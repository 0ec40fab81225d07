"""The multipart rules of the uploads API, pure: the part plan, the part-number and
completion bodies, the completion checks with their sentences, and a refusal's recorded outcome."""

from __future__ import annotations

import json

import pytest

from intake.events import ObjectCreated
from intake.status import StageResult, Status, derive, supersedes
from intake.uploads import (
    MIB,
    BadRequest,
    CompletedPart,
    HeldPart,
    PartPlan,
    bare_etag,
    completion_problem,
    parse_completion,
    parse_part_numbers,
    part_plan,
    part_size_problem,
    refusal,
    refusal_version,
    size_problem,
    size_words,
)

GIB = 1024 * MIB


# --- the plan -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "part_size", "part_count"),
    [
        (100 * MIB + 1, 16 * MIB, 7),  # just above the default threshold
        (150 * MIB, 16 * MIB, 10),
        (160 * MIB, 16 * MIB, 10),  # exactly ten full parts
        (5 * GIB, 16 * MIB, 320),  # MaxUploadBytes' default
        (16 * MIB * 10_000, 16 * MIB, 10_000),  # the most parts S3 allows
        (16 * MIB * 10_000 + 1, 32 * MIB, 5_001),  # one byte more: the part size doubles
        (5 * 1024 * GIB, 1024 * MIB, 5_120),  # S3's largest object, 5 TiB
    ],
)
def test_the_plan_takes_the_smallest_part_size_that_keeps_10000_parts(
    size: int, part_size: int, part_count: int
) -> None:
    plan = part_plan(size)
    assert (plan.part_size, plan.part_count) == (part_size, part_count)
    assert sum(plan.size_of(n) for n in range(1, plan.part_count + 1)) == size
    assert 0 < plan.size_of(plan.part_count) <= plan.part_size


def test_a_lower_minimum_part_size_is_never_below_s3s_5_mib() -> None:
    plan = part_plan(11 * MIB, 5 * MIB)
    assert (plan.part_size, plan.part_count) == (5 * MIB, 3)
    assert [plan.size_of(n) for n in (1, 2, 3)] == [5 * MIB, 5 * MIB, 1 * MIB]
    assert part_plan(11 * MIB, 1024).part_size == 5 * MIB


def test_the_first_answer_holds_urls_for_at_most_100_parts() -> None:
    assert part_plan(150 * MIB).first_urls == list(range(1, 11))
    assert part_plan(5 * GIB).first_urls == list(range(1, 101))


def test_sizes_read_as_people_write_them() -> None:
    assert size_words(150 * MIB) == "150 MiB"
    assert size_words(160 * MIB, exact=True) == "160 MiB (167772160 bytes)"
    assert size_words(int(1.5 * MIB)) == "1.5 MiB (1572864 bytes)"
    assert size_words(5 * GIB) == "5 GiB"
    assert size_words(1) == "1 byte"
    assert size_words(512) == "512 bytes"


# --- POST /uploads/{id}/parts ----------------------------------------------------------------------

PLAN = part_plan(150 * MIB)  # 10 parts of 16 MiB, the last 6 MiB


def test_part_numbers_are_sorted_and_deduplicated() -> None:
    assert parse_part_numbers(json.dumps({"part_numbers": [5, 3, 5, 10]}), PLAN) == [3, 5, 10]


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (None, "the body must be a JSON object with part_numbers"),
        ("[3]", "the body must be a JSON object with part_numbers"),
        ("{", "the body is not valid JSON"),
        ("{}", "part_numbers is required"),
        ('{"part_numbers": []}', "part_numbers must not be empty"),
        ('{"part_numbers": "3"}', "part_numbers must be a list"),
        ('{"part_numbers": [3, "4"]}', "part_numbers.1 must be an integer"),
        ('{"part_numbers": [3.5]}', "part_numbers.0 must be an integer"),
        ('{"part_numbers": [true]}', "part_numbers.0 must be an integer"),
        ('{"part_numbers": [0]}', "part number 0 is not one of this upload's parts 1 to 10"),
        ('{"part_numbers": [11]}', "part number 11 is not one of this upload's parts 1 to 10"),
        ('{"part_numbers": [1], "more": 1}', "more is not a known field"),
        (json.dumps({"part_numbers": [1] * 1001}), "part_numbers may hold at most 1000 items"),
    ],
)
def test_bad_part_number_requests_get_a_sentence(body: str | None, sentence: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_part_numbers(body, PLAN)
    assert str(caught.value) == sentence


# --- POST /uploads/{id}/complete -------------------------------------------------------------------

SMALL = part_plan(11 * MIB, 5 * MIB)  # 5 MiB, 5 MiB, 1 MiB


def held(*sizes: int) -> dict[int, HeldPart]:
    return {n: HeldPart(n, f"etag{n}", size) for n, size in enumerate(sizes, start=1)}


def listed(*numbers: int) -> list[CompletedPart]:
    return [CompletedPart(n, f"etag{n}") for n in numbers]


def test_completion_takes_etags_with_or_without_quotes() -> None:
    body = {"parts": [{"part_number": 1, "etag": '"abc"'}, {"part_number": 2, "etag": "def"}]}
    assert parse_completion(json.dumps(body)) == [CompletedPart(1, "abc"), CompletedPart(2, "def")]
    assert bare_etag(' "abc" ') == "abc"


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ("[]", "the body must be a JSON object with parts, or an empty object"),
        ('{"parts": []}', "parts must not be empty"),
        ('{"parts": [{"part_number": 1}]}', "parts.0.etag is required"),
        ('{"parts": [{"part_number": "1", "etag": "x"}]}', "parts.0.part_number must be an integer"),
        ('{"parts": [{"part_number": 1, "etag": ""}]}', "parts.0.etag must not be empty"),
        ('{"parts": [{"part_number": 1, "etag": "x", "size": 3}]}', "parts.0.size is not a known field"),
    ],
)
def test_bad_completion_bodies_get_a_sentence(body: str, sentence: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_completion(body)
    assert str(caught.value) == sentence


@pytest.mark.parametrize("body", [None, "", "{}", '{"parts": null}'])
def test_a_completion_without_a_list_completes_from_the_parts_s3_holds(body: str | None) -> None:
    assert parse_completion(body) is None
    assert completion_problem(SMALL, None, held(5 * MIB, 5 * MIB, MIB)) is None
    assert (
        completion_problem(SMALL, None, {1: HeldPart(1, "e1", 5 * MIB), 3: HeldPart(3, "e3", MIB)})
        == "part 2 has not been uploaded yet: upload it, then complete again"
    )


def test_a_complete_and_right_list_has_no_problem() -> None:
    parts = held(5 * MIB, 5 * MIB, 1 * MIB)
    assert completion_problem(SMALL, listed(3, 1, 2), parts) is None
    assert size_problem(SMALL, parts) is None
    assert part_size_problem(SMALL, parts) is None


@pytest.mark.parametrize(
    ("parts", "on_s3", "sentence"),
    [
        (
            listed(1, 2),
            held(5 * MIB, 5 * MIB, MIB),
            "part 3 is missing from the list: list every part from 1 to 3",
        ),
        (listed(1, 2, 3, 2), held(5 * MIB, 5 * MIB, MIB), "part 2 is listed more than once"),
        (listed(1, 2, 3, 4), held(5 * MIB, 5 * MIB, MIB), "part 4 is not one of this upload's parts 1 to 3"),
        (
            listed(1, 2, 3),
            held(5 * MIB, 5 * MIB),
            "part 3 has not been uploaded yet: upload it, then complete again",
        ),
        (
            [CompletedPart(1, "etag1"), CompletedPart(2, "stale"), CompletedPart(3, "etag3")],
            held(5 * MIB, 5 * MIB, MIB),
            "part 2's ETag 'stale' is not the one S3 holds for it ('etag2'): send the ETag its upload"
            " answered, or upload it again",
        ),
    ],
)
def test_the_first_missing_or_mismatched_part_is_named(
    parts: list[CompletedPart], on_s3: dict[int, HeldPart], sentence: str
) -> None:
    assert completion_problem(SMALL, parts, on_s3) == sentence


def test_parts_adding_up_to_more_than_declared_are_refused_with_both_sizes() -> None:
    plan = part_plan(150 * MIB)
    parts = held(*([16 * MIB] * 10))
    assert size_problem(plan, parts) == (
        "the parts add up to 160 MiB (167772160 bytes), more than the 150 MiB declared"
    )


def test_parts_adding_up_to_less_than_declared_are_refused() -> None:
    assert size_problem(SMALL, held(5 * MIB, 5 * MIB, 1000)) == (
        "the parts add up to 10.0 MiB (10486760 bytes), less than the 11 MiB declared"
    )


def test_a_part_of_the_wrong_size_is_named_when_the_total_is_right() -> None:
    parts = held(4 * MIB, 6 * MIB, 1 * MIB)
    assert size_problem(SMALL, parts) is None
    assert part_size_problem(SMALL, parts) == (
        "part 1 holds 4 MiB, not the 5 MiB of the upload's plan (parts of 5 MiB, the last one smaller):"
        " upload it again"
    )


def test_a_plan_knows_each_parts_size() -> None:
    plan = PartPlan(size=11, part_size=5, part_count=3)
    assert [plan.size_of(n) for n in (1, 2, 3)] == [5, 5, 1]


# --- a refusal: the outcome notify announces ------------------------------------------------------

REASON = "the parts add up to 12 MiB (12582912 bytes), more than the 11 MiB declared"


def test_a_refusals_version_is_one_per_s3_upload_and_does_not_show_its_id() -> None:
    version = refusal_version("s3-upload-id-1")
    assert version == refusal_version("s3-upload-id-1")  # a publish done again is the same announcement
    assert version != refusal_version("s3-upload-id-2")
    assert version.startswith("m") and len(version) == 33 and "s3-upload-id" not in version


def test_a_refusal_derives_a_rejected_outcome_with_its_sentence() -> None:
    refused = refusal("s3-upload-id-1", REASON, "2026-11-27T00:00:00.000Z")
    assert (refused.stage, refused.state, refused.reasons) == ("validate", "rejected", (REASON,))
    outcome = derive({refused.stage: refused})
    assert (outcome.status, outcome.version, outcome.reasons) == (
        Status.REJECTED,
        refusal_version("s3-upload-id-1"),
        (REASON,),
    )
    assert outcome.final


@pytest.mark.parametrize(
    ("sequencer", "event_time"), [("0055AED6DCD90281E5", ""), (None, "1970-01-01T00:00:00.000Z")]
)
def test_an_object_that_ever_arrived_at_the_key_would_be_newer_than_the_refusal(
    sequencer: str | None, event_time: str
) -> None:
    refused = refusal("s3-upload-id-1", REASON, "2026-11-27T00:00:00.000Z")
    event = ObjectCreated("b", "k", 1, "e", event_time, sequencer)
    arrived = StageResult(stage="validate", state="done", version=event.version, at="")
    assert supersedes(arrived, refused) and not supersedes(refused, arrived)
