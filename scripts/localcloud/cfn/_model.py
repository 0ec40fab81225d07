"""moto's CloudFormation model interface, implemented once for every model of this package.

moto's stack engine (moto/cloudformation/parsing.py) finds a model among the *direct* subclasses of
`moto.core.common_models.CloudFormationModel` and calls, on the class, `cloudformation_type()`,
`cloudformation_name_type()`, `has_cfn_attr(attr)`, `create_from_cloudformation_json(...)`,
`update_from_cloudformation_json(...)` and `delete_from_cloudformation_json(...)` (the last two only
when they are not moto's abstract ones); on what create returned it reads `physical_resource_id`
(`Ref`) and calls `get_cfn_attribute(name)` (`Fn::GetAtt`), `delete(account_id, region_name)` and
`is_created()`.

The two mixins below implement that interface. A model lists one of them *before*
CloudFormationModel, which stays a direct base so that moto finds the model:

- `LocalModel`, for a type moto skips: the model is the resource. It declares TYPE, NAME_TYPE, REF
  and ATTRIBUTES (plus REPLACING, APPLIED and ALREADY_GONE where they apply) and says what the type
  does in `create(name)`, `update(props)` and `remove()`.
- `MotoModelExtension`, for a type moto models in part: moto's model (MOTO) makes the resource and
  CloudFormation gets moto's object back; `extend(resource, props, previous)` applies what moto skips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping
from typing import Any, ClassVar, Self

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

from ._props import properties_of, warn_unapplied


def kept_on_replacement(cloudformation_json: Mapping[str, Any]) -> bool:
    """Whether the resource's UpdateReplacePolicy keeps the old physical resource when an update
    replaces it (Retain, or Snapshot, which this emulator cannot take and so keeps the resource too)."""
    return cloudformation_json.get("UpdateReplacePolicy") in ("Retain", "Snapshot")


def renamed(name_type: str, props: Mapping[str, Any], current_name: str) -> bool:
    """Whether the template gives the resource another name (its name property requires replacement).

    Without the name property the resource keeps the name it has.
    """
    new_name = props.get(name_type) if name_type else None
    return bool(new_name) and str(new_name) != current_name


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class LocalModel:
    """A resource type moto skips, implemented on moto's service backends (put before CloudFormationModel)."""

    #: The CloudFormation resource type, e.g. "AWS::SNS::Subscription".
    TYPE: ClassVar[str]
    #: The type's name property ("" if it has none): moto passes its value, or a generated name.
    NAME_TYPE: ClassVar[str] = ""
    #: The instance attribute `Ref` gives (the physical id).
    REF: ClassVar[str]
    #: `Fn::GetAtt` name -> the instance attribute that gives it, or the method that looks it up
    #: (not a property: moto's /moto-api/data.json reads every public property of every model).
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {}
    #: Properties whose change needs a new resource (CloudFormation "Update requires: Replacement").
    #: NAME_TYPE among them counts only when the template declares it.
    REPLACING: ClassVar[tuple[str, ...]] = ()
    #: The properties the model reproduces; the others are logged at create (None: no check).
    APPLIED: ClassVar[Collection[str] | None] = None
    #: The errors that mean the resource is already gone, so deleting it has nothing left to do.
    ALREADY_GONE: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, props: dict[str, Any], account_id: str, region_name: str) -> None:
        self.props = props
        self.account_id = account_id
        self.region_name = region_name

    # -- what the type does ------------------------------------------------------------------------

    def create(self, name: str) -> None:
        """Create the resource from `self.props` and set the attributes REF and ATTRIBUTES name."""
        raise NotImplementedError

    def update(self, props: dict[str, Any]) -> None:
        """Apply new properties in place (`self.props` are still the current ones)."""
        raise NotImplementedError

    def remove(self) -> None:
        """Delete the resource."""
        raise NotImplementedError

    def replaced_by(self, props: Mapping[str, Any]) -> bool:
        """Whether the new properties need a new resource rather than an update in place."""
        return any(
            renamed(key, props, self.physical_resource_id)
            if key == self.NAME_TYPE
            else _text(props.get(key)) != _text(self.props.get(key))
            for key in self.REPLACING
        )

    # -- moto's CloudFormationModel interface ------------------------------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return str(getattr(self, self.REF))

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        value = getattr(self, self.ATTRIBUTES[attribute_name])
        return str(value() if callable(value) else value)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        model = cls(properties_of(cloudformation_json), account_id, region_name)
        model.create(resource_name)
        if cls.APPLIED is not None:
            warn_unapplied(cls.TYPE, model.props, cls.APPLIED)
        return model

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        props = properties_of(cloudformation_json)
        if original_resource.replaced_by(props):
            new = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            if not kept_on_replacement(cloudformation_json):
                original_resource.delete(account_id, region_name)
            return new
        original_resource.update(props)
        original_resource.props = props
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(*self.ALREADY_GONE):
            self.remove()


#: The attribute of moto's object that keeps the properties its last create or update applied.
_APPLIED_PROPERTIES = "_localcloud_properties"


class MotoModelExtension:
    """A resource type moto models in part: moto's model makes it, `extend` adds what moto skips.

    Put it before CloudFormationModel. The class is never instantiated: CloudFormation gets moto's own
    object, so `Ref`, `Fn::GetAtt` and deletion are moto's. A template update that renames the resource
    replaces it (the old one stays when UpdateReplacePolicy retains it); any other update goes through
    `update`, then `extend` with the previous properties.
    """

    #: moto's model of the same type.
    MOTO: ClassVar[Any]

    @classmethod
    def create(cls, name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Any:
        """Make the resource: moto's create (moto's keyword arguments, LogicalId etc., are not passed on:
        the models extended here ignore them)."""
        return cls.MOTO.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)

    @classmethod
    def update(
        cls, resource: Any, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        """Update the resource in place and return it: moto's update, where moto has one."""
        if getattr(cls.MOTO.update_from_cloudformation_json, "__isabstractmethod__", False):
            return resource
        return cls.MOTO.update_from_cloudformation_json(
            resource, resource.physical_resource_id, cloudformation_json, account_id, region_name
        )

    @classmethod
    def extend(cls, resource: Any, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        """Apply the properties moto skips; `previous` are those of the last create or update, if any."""
        raise NotImplementedError

    @classmethod
    def current_name(cls, resource: Any) -> str:
        """The resource's name, as its name property gives it (moto's physical id, unless that is
        something else, such as a queue's URL)."""
        return str(resource.physical_resource_id)

    @classmethod
    def remove(
        cls, name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Delete the resource by name: moto's delete."""
        cls.MOTO.delete_from_cloudformation_json(name, cloudformation_json, account_id, region_name)

    # -- moto's CloudFormationModel interface ------------------------------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:
        return str(cls.MOTO.cloudformation_type())

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return str(cls.MOTO.cloudformation_name_type())

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(cls.MOTO.has_cfn_attr(attr))

    @classmethod
    def _extended(cls, resource: Any, props: dict[str, Any]) -> Any:
        cls.extend(resource, props, getattr(resource, _APPLIED_PROPERTIES, None))
        setattr(resource, _APPLIED_PROPERTIES, props)
        return resource

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = cls.create(resource_name, cloudformation_json, account_id, region_name)
        return cls._extended(resource, properties_of(cloudformation_json))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        props = properties_of(cloudformation_json)
        name = cls.current_name(original_resource)
        if renamed(cls.cloudformation_name_type(), props, name):
            new = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            if not kept_on_replacement(cloudformation_json):
                cls.remove(name, cloudformation_json, account_id, region_name)
            return new
        resource = cls.update(original_resource, cloudformation_json, account_id, region_name)
        return cls._extended(resource, props)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls.remove(resource_name, cloudformation_json, account_id, region_name)
