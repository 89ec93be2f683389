"""What steps and stages share: a registry name, a typed config, a label, declared columns.

A subclass names its config type as the generic argument, ``class Length(Filter[LengthConfig])``:
that sets the ``Config`` class attribute (what YAML parameters are validated against) and types
``self.config`` as a ``LengthConfig`` for a type checker. Setting ``Config = LengthConfig`` in the
class body, without the argument, works as well (``self.config`` is then typed as the base's
config).

Steps and stages declare the columns they need and add, so that a pipeline whose order cannot
work (a mix with no token counts before it) is refused when it is validated, before any work;
the files they need (a fastText model, a word list) are the config fields marked
:class:`~corpusforge.models.NeedsFile`, checked then too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel

from corpusforge.models import FileRef, needed_files
from corpusforge.yamlsource import ConfigError

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class Component(Generic[ConfigT]):
    """A configured piece of a pipeline: ``Component(config)`` or ``Component(**params)``, with an
    optional ``label=`` (its name in a pipeline)."""

    #: name in the registry (``step: <name>`` / ``stage: <name>`` in YAML)
    name: ClassVar[str] = ""
    #: the config model: unknown keys are refused, values are typed
    Config: ClassVar[type[BaseModel]]
    #: columns read that a batch may lack (the document schema is always there); a class whose
    #: needs depend on its config overrides :meth:`needed_columns` instead
    needs: ClassVar[tuple[str, ...]] = ()
    #: columns added; None when not declared (then it may add any column); a class whose
    #: columns depend on its config overrides :meth:`added_columns` instead
    adds: ClassVar[tuple[str, ...] | None] = None
    #: what a pipeline refused for this one's missing columns raises: a ConfigError, or a
    #: subclass that is also the error its callers have caught when the column was found
    #: missing at run time (the mix's MixError)
    missing_columns_error: ClassVar[type[ConfigError]] = ConfigError

    config: ConfigT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bound = _config_argument(cls)
        if bound is None:
            return
        own = cls.__dict__.get("Config")
        if own is None:
            cls.Config = bound
        elif not (isinstance(own, type) and issubclass(own, bound)):
            raise TypeError(f"{cls.__qualname__}.Config is not a {bound.__name__}, the class's "
                            "config type argument")

    def __init__(self, config: ConfigT | None = None, *, label: str | None = None,
                 **params: Any) -> None:
        if config is not None and params:
            raise TypeError("pass either a config object or keyword parameters, not both")
        self.config = config if config is not None else cast(ConfigT, self.Config(**params))
        self._label = label

    @property
    def label(self) -> str | None:
        """The name in a pipeline (``label:`` or a unique default); None when used alone.

        Fixed at construction: annotate columns and reject reasons are named after it.
        """
        return self._label

    def needed_columns(self) -> frozenset[str]:
        """Columns this must find in its input; without one it fails."""
        return frozenset(self.needs)

    def added_columns(self) -> frozenset[str] | None:
        """Columns this adds to its output; None when it does not say (it may add any)."""
        return None if self.adds is None else frozenset(self.adds)

    def needed_files(self) -> list[FileRef]:
        """The files this needs: the values of its config's ``NeedsFile`` fields (a step that
        holds other steps adds theirs)."""
        return needed_files(self.config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


def missing_columns(chain: Sequence[Component], available: Iterable[str]
                    ) -> list[tuple[int, list[str]]]:
    """``(position, columns)`` for each member of ``chain`` that needs columns which neither
    ``available`` nor a member before it provides. After a member that does not declare what it
    adds, nothing more is reported: it may add anything."""
    have = set(available)
    out: list[tuple[int, list[str]]] = []
    for i, member in enumerate(chain):
        missing = sorted(member.needed_columns() - have)
        if missing:
            out.append((i, missing))
        added = member.added_columns()
        if added is None:
            break
        have |= added
    return out


def _config_argument(cls: type) -> type[BaseModel] | None:
    """The config class given as the generic argument of one of ``cls``'s own bases."""
    bases: Iterable[Any] = cls.__dict__.get("__orig_bases__", ())
    for base in bases:
        origin = get_origin(base)
        if isinstance(origin, type) and issubclass(origin, Component):
            for arg in get_args(base):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    return arg
    return None
