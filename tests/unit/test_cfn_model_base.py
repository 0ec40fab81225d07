"""The base of the local CloudFormation models (localcloud.cfn._model), without a moto server.

The toy models below use the mixins alone, not CloudFormationModel, so moto's model map never sees
them. What moto calls is exercised through the same class methods moto's stack engine calls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

import localcloud.cfn
from localcloud.cfn._model import LocalModel, MotoModelExtension, renamed

ACCOUNT, REGION = "123456789012", "eu-west-1"


class Gone(Exception):
    pass


class Thing(LocalModel):
    """A toy type: records what the hooks were asked to do."""

    TYPE = "Local::Test::Thing"
    NAME_TYPE = "ThingName"
    REF = "name"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Arn": "arn", "Size": "size"}
    REPLACING = ("ThingName", "Zone")
    APPLIED = ("ThingName", "Zone", "Colour")
    ALREADY_GONE = (Gone,)

    name: str
    arn: str

    def create(self, name: str) -> None:
        self.name, self.arn = name, f"arn:thing:{name}"
        self.log: list[tuple[Any, ...]] = [("create", name, dict(self.props))]
        self.fail_remove: Exception | None = None

    def update(self, props: dict[str, Any]) -> None:
        self.log.append(("update", dict(self.props), dict(props)))

    def remove(self) -> None:
        self.log.append(("remove",))
        if self.fail_remove:
            raise self.fail_remove

    def size(self) -> int:
        return len(self.props)


def resource(props: dict[str, Any]) -> dict[str, Any]:
    return {"Type": Thing.TYPE, "Properties": props}


def create(name: str = "n1", **props: Any) -> Thing:
    return Thing.create_from_cloudformation_json(name, resource(props), ACCOUNT, REGION, LogicalId="T")


def update(original: Any, new_name: str = "generated", cls: Any = Thing, **props: Any) -> Any:
    return cls.update_from_cloudformation_json(
        original_resource=original,
        new_resource_name=new_name,
        cloudformation_json=resource(props),
        account_id=ACCOUNT,
        region_name=REGION,
    )


def test_type_name_ref_and_attributes() -> None:
    thing = create("n1", Zone="a")
    assert Thing.cloudformation_type() == "Local::Test::Thing"
    assert Thing.cloudformation_name_type() == "ThingName"
    assert Thing.has_cfn_attr("Arn") and not Thing.has_cfn_attr("Nope")
    assert thing.physical_resource_id == "n1"
    assert thing.get_cfn_attribute("Arn") == "arn:thing:n1"
    assert thing.get_cfn_attribute("Size") == "1"  # a method is called
    with pytest.raises(UnformattedGetAttTemplateException):
        thing.get_cfn_attribute("Nope")


def test_create_passes_properties_and_logs_the_ones_not_applied(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="localcloud.cfn"):
        thing = create("n1", Zone="a", Shape="round")
    assert (thing.account_id, thing.region_name) == (ACCOUNT, REGION)
    assert thing.log == [("create", "n1", {"Zone": "a", "Shape": "round"})]
    assert "Local::Test::Thing: properties not emulated locally: Shape" in caplog.text


def test_update_in_place_sees_old_and_new_properties() -> None:
    thing = create("n1", Zone="a", Colour="red")
    updated = update(thing, Zone="a", Colour="blue")
    assert updated is thing
    assert thing.log[-1] == ("update", {"Zone": "a", "Colour": "red"}, {"Zone": "a", "Colour": "blue"})
    assert thing.props == {"Zone": "a", "Colour": "blue"}


def test_a_replacing_property_makes_a_new_resource_then_deletes_the_old() -> None:
    thing = create("n1", Zone="a")
    new = update(thing, "n2", Zone="b")
    assert new is not thing
    assert new.log == [("create", "n2", {"Zone": "b"})]
    assert thing.log[-1] == ("remove",)


def test_update_replace_policy_retain_keeps_the_replaced_resource() -> None:
    thing = create("n1", Zone="a")
    new = Thing.update_from_cloudformation_json(
        original_resource=thing,
        new_resource_name="n2",
        cloudformation_json={**resource({"Zone": "b"}), "UpdateReplacePolicy": "Retain"},
        account_id=ACCOUNT,
        region_name=REGION,
    )
    assert new is not thing and new.log == [("create", "n2", {"Zone": "b"})]
    assert ("remove",) not in thing.log


def test_the_name_property_replaces_only_when_declared_and_different() -> None:
    thing = create("n1", ThingName="n1")
    assert update(thing, ThingName="n1") is thing
    assert update(thing) is thing  # without the name property the resource keeps its name
    assert update(thing, "n2", ThingName="n2").physical_resource_id == "n2"
    assert renamed("ThingName", {"ThingName": "x"}, "y")
    assert not renamed("", {"ThingName": "x"}, "y")


def test_delete_tolerates_only_already_gone() -> None:
    thing = create()
    thing.fail_remove = Gone()
    thing.delete(ACCOUNT, REGION)
    thing.fail_remove = ValueError("boom")
    with pytest.raises(ValueError):
        thing.delete(ACCOUNT, REGION)


class MotoThing:
    """Stands in for moto's model of a type (its object is what CloudFormation gets)."""

    deleted: ClassVar[list[str]] = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.encrypted = False

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_type() -> str:
        return "Local::Test::MotoThing"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "MotoName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls, name: str, cfn: dict[str, Any], account: str, region: str
    ) -> MotoThing:
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original: MotoThing, new_name: str, cfn: dict[str, Any], account: str, region: str
    ) -> MotoThing:
        original.encrypted = bool(cfn["Properties"].get("Encrypted"))
        return original

    @classmethod
    def delete_from_cloudformation_json(
        cls, name: str, cfn: dict[str, Any], account: str, region: str
    ) -> None:
        cls.deleted.append(name)


class ExtendedThing(MotoModelExtension):
    MOTO = MotoThing
    calls: ClassVar[list[tuple[str, dict[str, Any], dict[str, Any] | None]]] = []

    @classmethod
    def extend(cls, resource: Any, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        cls.calls.append((resource.name, props, previous))


def test_extension_answers_for_moto_model_and_extends_what_moto_made() -> None:
    assert ExtendedThing.cloudformation_type() == "Local::Test::MotoThing"
    assert ExtendedThing.cloudformation_name_type() == "MotoName"
    assert ExtendedThing.has_cfn_attr("Arn")
    ExtendedThing.calls.clear()
    made = ExtendedThing.create_from_cloudformation_json("m1", {"Properties": {"Tag": 1}}, ACCOUNT, REGION)
    assert isinstance(made, MotoThing)
    updated = update(made, cls=ExtendedThing, Tag=2, Encrypted=True)
    assert updated is made and made.encrypted  # moto's own update ran
    assert ExtendedThing.calls == [
        ("m1", {"Tag": 1}, None),
        ("m1", {"Tag": 2, "Encrypted": True}, {"Tag": 1}),
    ]


def test_extension_rename_replaces_through_moto() -> None:
    MotoThing.deleted.clear()
    made = ExtendedThing.create_from_cloudformation_json("m1", {"Properties": {}}, ACCOUNT, REGION)
    new = update(made, "m2", cls=ExtendedThing, MotoName="m2")
    assert new.name == "m2" and MotoThing.deleted == ["m1"]
    ExtendedThing.delete_from_cloudformation_json("m2", {"Properties": {}}, ACCOUNT, REGION)
    assert MotoThing.deleted == ["m1", "m2"]


def test_extension_rename_keeps_the_old_one_when_update_replace_policy_retains_it() -> None:
    MotoThing.deleted.clear()
    made = ExtendedThing.create_from_cloudformation_json("m1", {"Properties": {}}, ACCOUNT, REGION)
    new = ExtendedThing.update_from_cloudformation_json(
        original_resource=made,
        new_resource_name="m2",
        cloudformation_json={"Properties": {"MotoName": "m2"}, "UpdateReplacePolicy": "Retain"},
        account_id=ACCOUNT,
        region_name=REGION,
    )
    assert new.name == "m2" and MotoThing.deleted == []


@pytest.mark.parametrize("model", localcloud.cfn.MODELS, ids=lambda m: m.__name__)
def test_every_model_is_a_direct_cloudformation_model_of_a_package_module(model: type[Any]) -> None:
    # moto's model map holds the direct subclasses of CloudFormationModel, and its metaclass keys
    # models by their module path (localcloud.cfn.<module>).
    assert CloudFormationModel in model.__bases__
    assert model.__module__.startswith("localcloud.cfn.")
    assert issubclass(model, LocalModel | MotoModelExtension)
    assert model.cloudformation_type().startswith("AWS::")
