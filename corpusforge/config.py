"""The pipeline model: what a YAML file (or Python code) describes.

A pipeline is data — inputs, steps, output, batching, executor — validated up front
so that a bad config is refused before any work starts.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from corpusforge.component import missing_columns
from corpusforge.io.batching import BatchConfig
from corpusforge.io.fields import column_name
from corpusforge.io.inputs import InputConfig
from corpusforge.io.storage import StorageOptions, bucket_of, missing_backend
from corpusforge.io.warc import META_COLUMNS
from corpusforge.models import Fraction, Model, PositiveInt, Size, refusal, unique_names
from corpusforge.schema import DOC_SCHEMA, LANG, LANG_SCORE, N_TOKENS, TOKEN_IDS
from corpusforge.steps.build import EntryError, build_step, resolve_step
from corpusforge.suggest import pydantic_issues
from corpusforge.yamlsource import (
    TEXT_NAME,
    ConfigError,
    ConfigIssue,
    YamlDoc,
    load_yaml,
    load_yaml_file,
)


class OutputConfig(Model):
    path: str
    format: Literal["parquet", "jsonl"] = "parquet"
    #: parquet: codec; jsonl: file compression (zstd -> .jsonl.zst, gzip -> .jsonl.gz)
    compression: Literal["zstd", "gzip", "none"] = "zstd"
    #: a shard is closed and a new one started past this size
    max_shard_bytes: Size = 256 * 2**20
    #: write documents into ``<column>=<value>/`` subfolders (e.g. ``lang``)
    partition_by: str | None = None
    #: write removed documents, with the step and reason, under ``_rejects/``
    rejects: bool = True
    #: keep the text of removed documents in the rejects sink
    rejects_text: bool = True
    #: keep the documents between phases (``_map/``, ``_stage-<i>/``) after a finished run
    keep_intermediate: bool = False
    #: fsspec options of the output's bucket: ``key``, ``secret``, ``client_kwargs:
    #: {endpoint_url: ...}`` (without: the AWS_* environment variables)
    storage_options: StorageOptions = {}


class ExecutorConfig(Model):
    type: Literal["local", "ray"] = "local"
    #: worker processes (local) or concurrent tasks (ray); default: CPU count
    workers: PositiveInt | None = None
    #: Ray cluster address; none starts a local Ray instance
    ray_address: str | None = None
    #: Ray's runtime_env for every task (py_modules, working_dir, pip, env_vars ...)
    runtime_env: dict[str, Any] | None = None

    @field_validator("runtime_env")
    @classmethod
    def _local_paths_exist(cls, env: dict[str, Any] | None) -> dict[str, Any] | None:
        """A local folder or file to upload that is not there is a config error, not a failed
        connection (URIs, ``s3://...zip``, and pip packages are Ray's to check)."""
        if env is None:
            return env
        paths = [env["working_dir"]] if isinstance(env.get("working_dir"), str) else []
        modules = env.get("py_modules")
        if modules is not None and not (isinstance(modules, list) and all(isinstance(m, str) for m in modules)):
            raise ValueError("py_modules is a list of paths or URIs")
        for path in [*paths, *(modules or [])]:
            if "://" not in path and not os.path.exists(path):
                raise ValueError(f"{path!r} does not exist (a local path is relative to the working directory)")
        return env


class StepSpec(Model):
    """One entry of ``steps:``: a step reference, an optional label and its parameters."""

    step: str
    label: str | None = None
    params: dict[str, Any] = {}
    #: this step's error budget (default: the pipeline's ``max_error_fraction``)
    max_error_fraction: Fraction | None = None

    @property
    def display_name(self) -> str:
        return self.label or self.step


class StageSpec(Model):
    """One entry of ``stages:``: ``{dedup: {...}}`` or ``{stage: dedup, label: ..., ...}``."""

    stage: str
    label: str | None = None
    params: dict[str, Any] = {}

    @property
    def display_name(self) -> str:
        return self.label or self.stage


#: inputs whose units are not files (a generated range, a hub stream): no ledger can hold them
STREAM_INPUTS = frozenset({"demo", "hf"})


class Pipeline(Model):
    name: str = "pipeline"
    inputs: list[InputConfig] = Field(min_length=1)
    steps: list[StepSpec] = []
    #: global stages, run after the per-shard steps over all shards (see docs/architecture.md)
    stages: list[StageSpec] = []
    output: OutputConfig
    batch: BatchConfig = BatchConfig()
    executor: ExecutorConfig = ExecutorConfig()
    #: skip: a failing record goes to the errors sink and the run goes on; fail: stop the run
    on_error: Literal["skip", "fail"] = "skip"
    #: with skip: the largest fraction of a step's documents that may error before the run
    #: stops (exit code 3); a step's own ``max_error_fraction`` overrides it (engine/budget.py)
    max_error_fraction: Fraction = 0.1
    #: a corpus that grows night by night: the output root keeps a ledger of the input files
    #: processed, and each run processes only the new ones into ``snapshot=<id>/``, deduplicated
    #: against the earlier snapshots (docs/nightly.md)
    incremental: bool = False
    #: write ``<output>/report.html`` when the run ends (``corpusforge report`` writes it later)
    report: bool = True

    @model_validator(mode="after")
    def _incremental_inputs(self) -> Pipeline:
        if self.incremental:
            streams = [(("inputs", i, "type"), f"incremental runs keep a ledger of input files; a "
                        f"{c.type!r} input is no set of files", c.type)
                       for i, c in enumerate(self.inputs) if c.type in STREAM_INPUTS]
            if streams:
                raise refusal("Pipeline", streams)
        return self

    def source_name(self, index: int) -> str:
        return self.inputs[index].source or f"input{index}"

    def step_names(self) -> list[str]:
        """Unique display names of the steps (``length``, ``length#2`` ...)."""
        return unique_names([s.display_name for s in self.steps])

    def build_steps(self) -> list:
        # labelled with their unique names: annotate columns and reasons say which step it was
        return [build_step({"step": s.step, **s.params}, label=name)
                for s, name in zip(self.steps, self.step_names())]

    def stage_names(self) -> list[str]:
        """Unique display names of the stages, also unique among the steps' (a step labelled
        ``dedup`` and the dedup stage would otherwise share a stats row and a rejects folder)."""
        names = unique_names([*self.step_names(), *(s.display_name for s in self.stages)])
        return names[len(self.steps):]

    def build_stages(self) -> list:
        from corpusforge.stages.build import build_stage

        return [build_stage({"stage": s.stage, **s.params}, label=name)
                for s, name in zip(self.stages, self.stage_names())]

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Pipeline:
        """The pipeline of a YAML file, checked as ``corpusforge run`` checks it: a bad one
        raises :class:`ConfigError` naming each wrong key with its line."""
        return load_pipeline(os.fspath(path))[0]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pipeline:
        """The pipeline a mapping describes, exactly as if it were the YAML file's content
        (``use:`` presets, steps, stages, the ``tokenizer:``/``mix:`` shorthands): the same
        checks, and a :class:`ConfigError` naming each wrong key by its path."""
        # a copy: whatever parsing does to its input, the caller's mapping stays as it was
        return parse_pipeline(YamlDoc(copy.deepcopy(data)))


#: a key of a step entry that is the pipeline's, not a parameter of the step
BUDGET_KEY = "max_error_fraction"


def _step_entry(raw: Any, path: tuple, doc: YamlDoc, issues: list[ConfigIssue]) -> Any:
    """Turn ``{step: length, min_chars: 50}`` into a StepSpec dict, checking its params."""
    budget = {}
    if isinstance(raw, dict) and BUDGET_KEY in raw:
        # checked by StepSpec (a fraction), at its own key
        raw = dict(raw)
        budget = {BUDGET_KEY: raw.pop(BUDGET_KEY)}
    try:
        entry = resolve_step(raw)
    except EntryError as e:
        issues.extend(doc.issue((*path, *i.path), i.message) for i in e.issues)
        return None
    return {"step": raw["step"], "label": entry.label, "params": entry.params, **budget}


def _stage_entry(raw: Any, path: tuple, doc: YamlDoc, issues: list[ConfigIssue]) -> Any:
    """Turn ``{dedup: {...}}`` or ``{stage: dedup, ...}`` into a StageSpec dict, checking params."""
    from corpusforge.stages.build import resolve_stage

    if isinstance(raw, dict) and "stage" not in raw and len(raw) == 1:
        ref, params = next(iter(raw.items()))
        if params is None:
            params = {}
        if not isinstance(params, dict):
            issues.append(doc.issue((*path, ref), "a stage's parameters are a mapping"))
            return None
        for key in ("stage", "label"):
            if key in params:  # these name the stage; in this form they are not parameters
                issues.append(doc.issue((*path, ref, key), f"`{key}:` is not a parameter of "
                                        f"{ref!r}; write {{stage: {ref}, {key}: ...}}"))
                return None
        entry, ppath, rpath = {"stage": ref, **params}, (*path, ref), (*path, ref)
    elif isinstance(raw, dict) and "stage" in raw:
        entry, ppath, rpath = raw, path, (*path, "stage")
    else:
        issues.append(doc.issue(path, "a stage is `{name: {params}}` or a mapping with a `stage:` key"))
        return None
    try:
        resolved = resolve_stage(entry)
    except EntryError as e:
        for i in e.issues:
            where = rpath if i.path == ("stage",) else (*ppath, *i.path)
            issues.append(doc.issue(where, i.message))
        return None
    # the validated form: string keys (YAML reads `on:` as true), plain JSON values
    params = resolved.config.model_dump(mode="json", exclude_unset=True)
    return {"stage": entry["stage"], "label": resolved.label, "params": params}


def _use_entry(raw: dict, path: tuple, doc: YamlDoc, issues: list[ConfigIssue]) -> list:
    """Expand ``{use: preset}`` into the preset's steps; errors point at the ``use:`` line."""
    from corpusforge.steps.presets import PresetError, expand_preset

    try:
        entries = expand_preset(raw)
    except PresetError as e:
        issues.append(doc.issue((*path, *e.path), str(e)))
        return []
    return [_step_entry(e, path, doc, issues) for e in entries]


#: the top-level shorthand keys (``corpusforge.mix.toplevel.KEYS``, imported only when used)
SHORTHAND_KEYS = ("tokenizer", "mix", "outputs", "validation")


def parse_pipeline(doc: YamlDoc) -> Pipeline:
    """Validate a loaded YAML document into a :class:`Pipeline`, or raise ConfigError."""
    data = doc.data
    if not isinstance(data, dict):
        raise ConfigError([doc.issue((), "a pipeline is a YAML mapping")], doc.file)
    issues: list[ConfigIssue] = []
    data = dict(data)
    raw_steps = data.get("steps") or []
    if not isinstance(raw_steps, list):
        issues.append(doc.issue(("steps",), "`steps` is a list"))
        raw_steps = []
    data["steps"] = []
    #: where each step and stage was written, for the order check's messages
    paths: dict[str, list[tuple]] = {"steps": [], "stages": []}
    for i, s in enumerate(raw_steps):
        if isinstance(s, dict) and "use" in s:
            data["steps"] += _use_entry(s, ("steps", i), doc, issues)
        else:
            data["steps"].append(_step_entry(s, ("steps", i), doc, issues))
        paths["steps"] += [("steps", i)] * (len(data["steps"]) - len(paths["steps"]))
    raw_stages = data.get("stages") or []
    if not isinstance(raw_stages, list):
        issues.append(doc.issue(("stages",), "`stages` is a list"))
        raw_stages = []
    data["stages"] = [_stage_entry(s, ("stages", i), doc, issues) for i, s in enumerate(raw_stages)]
    paths["stages"] = [("stages", i) for i in range(len(raw_stages))]
    if any(k in data for k in SHORTHAND_KEYS):
        # tokenizer:/mix: shorthand for the tokenize step and the mix stage (docs/tokenize-mix.md)
        from corpusforge.mix.toplevel import expand

        expand(data, doc, issues)
        for kind, key in (("steps", "tokenizer"), ("stages", "mix")):
            paths[kind] += [(key,)] * (len(data[kind]) - len(paths[kind]))
    try:
        pipeline = Pipeline.model_validate(data)
    except ValidationError as e:
        # key paths without the union alternatives pydantic names (an input's `jsonl`)
        for loc, message in pydantic_issues(Pipeline, e.errors(), extra_keys=SHORTHAND_KEYS):
            if loc and loc[0] in ("steps", "stages") and issues:
                continue  # step and stage entries were checked above with better locations
            issues.append(doc.issue(loc, message))
        pipeline = None
    if issues or pipeline is None:
        raise ConfigError(issues, doc.file)
    check_pipeline(pipeline, [*paths["steps"], *paths["stages"]], doc)
    _check_output_of_last_stage(pipeline, doc)
    check_storage(pipeline, doc)
    return pipeline


def check_storage(pipeline: Pipeline, doc: YamlDoc | None = None) -> None:
    """Refuse, before any work starts, a path this machine cannot open (``s3://`` without
    s3fs), ``storage_options`` on local paths, and two sets of options for one bucket."""
    issues: list[ConfigIssue] = []

    def issue(path: tuple, message: str) -> None:
        issues.append(doc.issue(path, message) if doc else ConfigIssue(path, message))

    places = [(("inputs", i), cfg) for i, cfg in enumerate(pipeline.inputs)]
    places.append((("output",), pipeline.output))
    seen: dict[str, tuple[str, tuple]] = {}
    for where, cfg in places:
        paths = getattr(cfg, "path", None) or []
        paths = [paths] if isinstance(paths, str) else paths
        for problem in dict.fromkeys(filter(None, map(missing_backend, paths))):
            issue((*where, "path"), problem)
        options = getattr(cfg, "storage_options", None)
        if not options:
            continue
        buckets = {bucket_of(p) for p in paths}
        if None in buckets:
            issue((*where, "storage_options"), "storage_options are for URLs (s3://bucket/...); "
                  "this path is local")
        text = json.dumps(options, sort_keys=True)
        for bucket in sorted(b for b in buckets if b):
            other = seen.setdefault(bucket, (text, where))
            if other[0] != text:
                issue((*where, "storage_options"), f"{bucket} has other storage_options at "
                      f"{ConfigIssue(other[1], '').dotted()}: a bucket has one set of options")
    for j, spec in enumerate(pipeline.stages):
        index = spec.params.get("index")
        problem = missing_backend(index) if isinstance(index, str) else None
        if problem:
            issue(("stages", j), f"index: {problem}")
    if issues:
        raise ConfigError(issues, doc.file if doc else None)


def _check_output_of_last_stage(pipeline: Pipeline, doc: YamlDoc) -> None:
    """Refuse output settings the last stage would silently ignore."""
    if not pipeline.stages:
        return
    layout = pipeline.build_stages()[-1].own_output_layout
    if layout is None:
        return
    out, issues = pipeline.output, []
    if out.partition_by is not None:
        issues.append(doc.issue(("output", "partition_by"), f"{layout}; partition_by does not apply"))
    if out.format != "parquet":
        issues.append(doc.issue(("output", "format"), f"{layout}; choose formats there"))
    if issues:
        raise ConfigError(issues, doc.file)


#: how to get a column that built-in steps add and later steps and stages read
_HOW_TO_ADD = {
    N_TOKENS: "add a tokenize step before it (or a top-level `tokenizer:`)",
    TOKEN_IDS: "add a tokenize step with `ids: true` before it",
    LANG: "add a langid step before it",
    LANG_SCORE: "add a langid step before it",
}


def check_pipeline(pipeline: Pipeline, paths: list[tuple] | None = None,
                   doc: YamlDoc | None = None) -> None:
    """Refuse, before any work, steps and stages that cannot run: one that cannot be built, a
    file one needs that is missing or unreadable (checked without loading it), or an order in
    which one needs a column that no input and no step before it provides (a mix with no
    tokenize step before it).

    ``paths`` (where each step and stage sits in the YAML) and ``doc`` give the issues their
    lines; without them (a pipeline built in code) the issues name ``steps[i]``/``stages[j]``.
    """
    from corpusforge.stages.build import build_stage

    names = [*pipeline.step_names(), *pipeline.stage_names()]
    if paths is None:
        paths = [("steps", i) for i in range(len(pipeline.steps))]
        paths += [("stages", j) for j in range(len(pipeline.stages))]
    entries = [*({"step": s.step, **s.params} for s in pipeline.steps),
               *({"stage": s.stage, **s.params} for s in pipeline.stages)]
    chain, issues = [], []
    for entry, name, path in zip(entries, names, paths):
        # built one by one, so that one whose constructor fails is reported at its own line
        try:
            chain.append(build_step(entry, name) if "step" in entry else build_stage(entry, name))
        except EntryError as e:
            issues += [doc.issue(path, i.message) if doc else ConfigIssue(path, i.message)
                       for i in e.issues]
    if issues:
        raise ConfigError(issues, doc.file if doc else None)
    _check_files(chain, [str(e.get("stage", e.get("step"))) for e in entries], names, paths, doc)
    _check_column_order(pipeline, chain, names, paths, doc)


def _check_files(chain: list, refs: list[str], names: list[str], paths: list[tuple],
                 doc: YamlDoc | None) -> None:
    """Refuse a missing or unreadable file that a step or stage needs (its ``NeedsFile``
    fields), at the YAML key that names it."""
    from corpusforge.resources import file_problem

    issues = []
    for member, written, name, path in zip(chain, refs, names, paths):
        # where the parameters are written: in the entry, under the name of a `{dedup: {...}}`
        # stage, or, for the top-level shorthand (`tokenizer:`, `mix:`), at the top level
        at = [path, (*path, written), *([()] if len(path) == 1 else [])]
        for ref in member.needed_files():
            problem = file_problem(ref.value, ref.need)
            if problem is not None:
                issues.append(_file_issue(at, name, ref.key, problem, doc))
    if issues:
        raise ConfigError(issues, doc.file if doc else None)


def _file_issue(at: list[tuple], name: str, key: tuple, problem: str, doc: YamlDoc | None) -> ConfigIssue:
    """The issue at the YAML key of the value (``steps[1].lists[0]``) when the file wrote it
    there (``at``: where the entry's parameters may be written, its own path first); otherwise (a
    default, a step of a preset) at the nearest key written, with the rest of the key and the
    step's name in the message."""
    path = at[0]
    if doc is None:
        return ConfigIssue((*path, *key), problem)
    for base in at:
        if (*base, *key) in doc.lines:
            return doc.issue((*base, *key), problem)
    full = (*path, *key)
    near = next(full[:n] for n in range(len(full), 0, -1) if full[:n] in doc.lines or n == len(path))
    rest = ConfigIssue(full[len(near):], "").dotted()
    who = f"{name}: " if near == path and name != path[-1] else ""
    return doc.issue(near, f"{who}{rest}: {problem}")


def _check_column_order(pipeline: Pipeline, chain: list, names: list[str], paths: list[tuple],
                        doc: YamlDoc | None) -> None:
    """Refuse steps and stages in an order that cannot work: one of them needs a column that no
    input and no step before it provides."""
    available = set(DOC_SCHEMA.names).union(*(_input_columns(i) for i in pipeline.inputs))
    refused = missing_columns(chain, available)
    if not refused:
        return
    how = "no input and no step before it provides one"
    issues = []
    for i, columns in refused:
        # the `mix:` shorthand sits at the key `mix`: no need to say its name twice
        who = "" if paths[i][-1] == names[i] else f"{names[i]}: "
        for column in columns:
            message = f"{who}no {column!r} column: {_HOW_TO_ADD.get(column, how)}"
            issues.append(doc.issue(paths[i], message) if doc else ConfigIssue(paths[i], message))
    raise chain[refused[0][0]].missing_columns_error(issues, doc.file if doc else None)


def _input_columns(cfg: Any) -> set[str]:
    """The columns an input's documents carry besides the document schema: its kept metadata
    (named after their last dotted part) and those its reader always adds."""
    columns = {column_name(key) for key in getattr(cfg, "metadata", [])}
    if cfg.type in ("warc", "commoncrawl"):
        columns |= set(META_COLUMNS)
    if cfg.type == "tar":
        columns |= set(cfg.header_columns())
    return columns


def load_pipeline(path: str) -> tuple[Pipeline, YamlDoc]:
    doc = load_yaml_file(path)
    return parse_pipeline(doc), doc


def pipeline_from_yaml(text: str, name: str = TEXT_NAME) -> Pipeline:
    """A pipeline from YAML text; errors call it ``name`` where they would name its file."""
    return parse_pipeline(load_yaml(text, name))
