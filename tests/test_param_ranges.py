"""Every numeric parameter has a range, every min/max pair an order, and `validate` refuses a
value outside them (exit 2) at the key and the YAML line.

The parameters are those `corpusforge steps` and `corpusforge inputs` show: every registered
step, stage and input type, described by the function the commands use, plus the pipeline's
own `output:`, `batch:` and `executor:`. A new step is covered without a change here; one with
a required parameter this file cannot guess fails `test_the_base_pipeline_is_valid`, which
names it (add it to BASE).
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, ByteSize
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.cli.describe import describe
from corpusforge.config import BatchConfig, ExecutorConfig, OutputConfig, pipeline_from_yaml
from corpusforge.io.inputs import READERS
from corpusforge.models import bounds
from corpusforge.schema import LANG, LANG_SCORE, N_TOKENS
from corpusforge.stages.registry import registered_stages
from corpusforge.steps.registry import registered_steps
from corpusforge.yamlsource import ConfigError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
UNIONS = (Union, types.UnionType)
#: wide enough that no message is wrapped
WIDE = {"COLUMNS": "4000"}

#: required parameters that cannot be guessed from their type (a string gets "x", a list of
#: strings ["x"]); TOKENIZER stands for an existing file
BASE: dict[str, dict[str, Any]] = {
    "route": {"branches": {"ja": []}},
    "tokenize": {"tokenizer": "TOKENIZER"},
    "mix": {"targets": {"ja": 1000}},
    "commoncrawl": {"crawl": "CC-MAIN-2023-50"},
}
#: the step that provides a column a step or stage needs
PROVIDERS = {LANG: {"step": "langid"}, LANG_SCORE: {"step": "langid"},
             N_TOKENS: {"step": "tokenize", "tokenizer": "TOKENIZER"}}
#: the pipeline's own sections with parameters
SECTIONS = {"output": OutputConfig, "batch": BatchConfig, "executor": ExecutorConfig}


# --- the components, as the listing commands see them -----------------------------------------


def components() -> list[tuple[str, str, type[BaseModel], dict]]:
    """``(kind, name, config model, description)`` of everything `steps`/`inputs` list, and of
    the pipeline's sections."""
    out = []
    for name, cls in registered_steps().items():
        out.append(("step", name, cls.Config, describe(cls, "step")))
    for name, cls in registered_stages().items():
        out.append(("stage", name, cls.Config, describe(cls, "stage")))
    for tag, reader in READERS.items():
        out.append(("input", tag, reader.config, describe(reader.config, "input", config=reader.config)))
    for key, model in SECTIONS.items():
        out.append(("section", key, model, {"params": describe(model, "section", config=model)["params"]}))
    return out


COMPONENTS = components()


def field_at(model: type[BaseModel], dotted: str):
    """The pydantic field of a dotted parameter name (``minhash.threshold``,
    ``sources.<name>.weight``) and the model that holds it."""
    field = None
    for part in dotted.split("."):
        if part == "<name>":
            continue
        if field is not None:
            model = next(m for m in models_in(field.annotation))
        field = model.model_fields[part.removesuffix("[]")]
    return model, field


def models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in get_args(annotation) for m in models_in(a)]


def leaves(annotation: Any) -> list[Any]:
    """The value types a parameter's type is built of (``None`` left out)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return leaves(args[0])
    if origin in UNIONS or origin in (list, set, frozenset, tuple):
        return [t for a in args if a is not Ellipsis for t in leaves(a)]
    if origin is dict:
        return leaves(args[1])
    if origin is Literal:
        return [type(a) for a in args]
    return [] if annotation is type(None) else [annotation]


def is_numeric(annotation: Any) -> bool:
    """A number, or a container of numbers (a type that also takes strings is an identifier
    or a spec, such as a route's branch values or a Common Crawl file slice)."""
    kinds = leaves(annotation)
    return bool(kinds) and all(k in (int, float, ByteSize) for k in kinds)


def _outside(kind: type, b: dict[str, float]) -> list[Any]:
    """Values just outside each bound of a number of type ``kind``."""
    out: list[Any] = []
    if "ge" in b:
        out.append(b["ge"] - 1)
    if "gt" in b:
        out.append(b["gt"])
    if "le" in b:
        out.append(b["le"] + 1)
    if "lt" in b:
        out.append(b["lt"])
    return [kind(v) if kind is float else int(v) for v in out]


def _inside(kind: type, b: dict[str, float]) -> Any:
    low = b.get("ge", b.get("gt", 0) + (1 if "gt" in b else 0))
    return float(low) if kind is float else int(low)


def violations(annotation: Any, metadata: tuple = (), example: Any = None) -> list[tuple[Any, str]]:
    """``(value, location suffix)`` for each way a value of this type can be out of range:
    ``(-1, "")`` for a number, ``([-1], "[0]")`` for a list, ``({"k": -1}, ".k")`` for a
    mapping, ``([[2, 1.5]], "[0][1]")`` for a list of pairs (the other places valid)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return violations(args[0], (*metadata, *args[1:]), example)
    if origin in UNIONS:
        return [v for a in args if a is not type(None) for v in violations(a, metadata, example)]
    if origin in (list, set, frozenset):
        item = example[0] if example else None
        return [([v], f"[0]{where}") for v, where in violations(args[0], (), item)]
    if origin is dict:
        return [({"k": v}, f".k{where}") for v, where in violations(args[1])]
    if origin is tuple:
        out = []
        for i, a in enumerate(args):
            for v, where in violations(a):
                row = list(example) if example else [_inside(leaves(t)[0], bounds(get_args(t)[1:]))
                                                     for t in args]
                row[i] = v
                out.append((row, f"[{i}]{where}"))
        return out
    if annotation in (int, float, ByteSize):
        kind = float if annotation is float else int
        return [(v, "") for v in _outside(kind, bounds(metadata))]
    return []


def numeric_params() -> list[tuple[str, str, type[BaseModel], str, Any]]:
    out = []
    for kind, name, model, info in COMPONENTS:
        for dotted in info["params"]:
            holder, field = field_at(model, dotted)
            if is_numeric(field.annotation):
                out.append((kind, name, model, dotted, (holder, field)))
    return out


def order_pairs() -> list[tuple[str, str, type[BaseModel], str, str, str]]:
    """``(kind, component, model, prefix, low, high)`` for every declared pair, nested too."""
    out = []
    for kind, name, model, info in COMPONENTS:
        prefixes = {""} | {d.rsplit(".", 1)[0] + "." for d in info["params"] if "." in d}
        for prefix in sorted(prefixes):
            holder = model if not prefix else next(iter(models_in(field_at(model, prefix[:-1])[1].annotation)))
            for low, high in getattr(holder, "ordered", ()):
                out.append((kind, name, model, prefix, low, high))
    return out


NUMERIC = numeric_params()
PAIRS = order_pairs()


# --- pipelines ------------------------------------------------------------------------------


def nest(dotted: str, value: Any) -> dict:
    """``minhash.threshold`` -> ``{"minhash": {"threshold": value}}``; ``<name>`` becomes the
    key ``k`` and ``x[]`` a one-item list."""
    parts = dotted.split(".")
    for part in reversed(parts):
        if part == "<name>":
            value = {"k": value}
        elif part.endswith("[]"):
            value = {part[:-2]: [value]}
        else:
            value = {part: value}
    return value


def merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def base_params(model: type[BaseModel], name: str) -> dict:
    params = {}
    for key, field in model.model_fields.items():
        if field.is_required() and key != "type":
            kinds = leaves(field.annotation)
            params[key] = ["x"] if get_origin(field.annotation) is list else "x" if str in kinds else None
    params.update(BASE.get(name, {}))
    return {k: v for k, v in params.items() if v is not None}


def pipeline_text(tmp_path: Path, kind: str, name: str, model: type[BaseModel],
                  params: list[tuple[str, Any]]) -> str:
    """A pipeline using the component ``name`` with ``params`` (dotted name, value), each on a
    line of its own, the last of them on the file's last line."""
    tokenizer = tmp_path / "tok.model"
    tokenizer.write_bytes(b"")  # a file: validation never loads it
    base = base_params(model, name)
    lines = [f"output: {{path: {json.dumps(str(tmp_path / 'out'))}}}"] if kind != "section" or name != "output" else []
    if kind == "input":
        lines += ["inputs:", f"  - type: {name}"]
        indent = "    "
    else:
        lines += ["inputs: [{type: demo, docs: 10}]"]
    if kind == "step":
        cls = registered_steps()[name]
        needs = cls(**{k: v.replace("TOKENIZER", str(tokenizer)) if isinstance(v, str) else v
                       for k, v in base.items()}).needed_columns()
        providers = list({json.dumps(PROVIDERS[c]) for c in sorted(needs) if c in PROVIDERS})
        lines += ["steps:", *(f"  - {p}" for p in providers), f"  - step: {name}"]
        indent = "    "
    elif kind == "stage":
        needs = {N_TOKENS} if name == "mix" else set()
        lines += ["steps:", *(f"  - {json.dumps(PROVIDERS[c])}" for c in needs), "stages:", f"  - {name}:"]
        indent = "      "
    elif kind == "section":
        lines += [f"{name}:"]
        indent = "  "
        if name == "output":
            base = {"path": str(tmp_path / "out")}
    for key, value in base.items():
        if not any(d.split(".")[0] == key for d, _ in params):
            lines.append(f"{indent}{key}: {json.dumps(value)}")
    written: dict = {}
    for dotted, value in params:
        written = merge(written, nest(dotted, value))
    items = list(written.items())
    for key, value in items:
        if key in base and isinstance(base[key], dict) and isinstance(value, dict):
            value = merge(base[key], value)
        lines.append(f"{indent}{key}: {json.dumps(value)}")
    if kind == "section" and lines[-1] == f"{name}:":
        lines[-1] = f"{name}: {{}}"
    return "\n".join(lines).replace('"TOKENIZER"', json.dumps(str(tokenizer))) + "\n"


def where(kind: str, name: str, dotted: str) -> str:
    """The dotted key a config error names for a parameter of the component."""
    prefix = {"step": "steps[{i}].", "stage": f"stages[0].{name}.", "input": "inputs[0].",
              "section": f"{name}."}[kind]
    return prefix + dotted.replace(".<name>", ".k").replace("[].", "[0].")


def validate(tmp_path: Path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path, runner.invoke(app, ["validate", str(path)], env=WIDE)


def step_index(text: str) -> int:
    """The position of the step under test (providers come before it)."""
    steps = text.split("steps:\n", 1)[1].split("\n")
    return sum(1 for line in steps if line.startswith("  - ")) - 1


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,name,model,info", COMPONENTS, ids=[f"{c[0]}:{c[1]}" for c in COMPONENTS])
def test_the_base_pipeline_is_valid(tmp_path, kind, name, model, info):
    """The pipeline each refusal below starts from validates: what is refused is the value."""
    text = pipeline_text(tmp_path, kind, name, model, [])
    if kind == "input":  # no listing of files (an `hf` input would reach for the network)
        pipeline_from_yaml(text)
        return
    path, r = validate(tmp_path, text)
    assert r.exit_code == 0, f"{name}: give it a base in BASE\n{text}\n{r.output}"


@pytest.mark.parametrize("kind,name,model,dotted,field", NUMERIC,
                         ids=[f"{p[0]}:{p[1]}.{p[3]}" for p in NUMERIC])
def test_a_number_outside_its_range_is_refused_at_its_line(tmp_path, kind, name, model, dotted, field):
    holder, info = field
    paired = any(dotted.rsplit(".", 1)[-1] in pair for pair in getattr(holder, "ordered", ()))
    bad = violations(info.annotation, tuple(info.metadata), info.default if isinstance(info.default, list) else None)
    assert bad or paired, f"{name}.{dotted}: a number with no range (Field(ge=...) or a type from models.py)"
    for value, suffix in bad:
        text = pipeline_text(tmp_path, kind, name, model, [(dotted, value)])
        path, r = validate(tmp_path, text)
        line = text.count("\n")
        key = where(kind, name, dotted).format(i=step_index(text) if kind == "step" else 0) + suffix
        assert r.exit_code == 2, f"{dotted}={value!r} passed validate:\n{text}\n{r.output}"
        assert f"{path}:{line}: {key}: " in r.output, f"{dotted}={value!r}:\n{text}\n{r.output}"
        if not suffix:  # the refused value is named
            assert repr(value) in r.output or str(value) in r.output, r.output


@pytest.mark.parametrize("kind,name,model,prefix,low,high", PAIRS,
                         ids=[f"{p[0]}:{p[1]}.{p[3]}{p[4]}>{p[5]}" for p in PAIRS])
def test_an_inverted_pair_is_refused_naming_both_keys_and_values(tmp_path, kind, name, model, prefix, low, high):
    holder, low_field = field_at(model, prefix + low)
    _, high_field = field_at(model, prefix + high)
    low_kind = float if float in leaves(low_field.annotation) else int
    high_kind = float if float in leaves(high_field.annotation) else int
    high_value = _inside(high_kind, bounds(high_field.metadata) or bounds(
        [m for a in get_args(high_field.annotation) for m in get_args(a)[1:]]))
    low_value = low_kind(high_value + 1)
    text = pipeline_text(tmp_path, kind, name, model, [(prefix + low, low_value), (prefix + high, high_value)])
    # the two values on lines of their own, the upper bound last
    if prefix:
        text = text.replace(f'{{"{low}": {json.dumps(low_value)}, "{high}": {json.dumps(high_value)}}}',
                            f'{{"{low}": {json.dumps(low_value)},\n{" " * 8}"{high}": {json.dumps(high_value)}}}')
    path, r = validate(tmp_path, text)
    assert r.exit_code == 2, f"{low}={low_value} > {high}={high_value} passed validate:\n{text}\n{r.output}"
    key = where(kind, name, prefix + high).format(i=step_index(text) if kind == "step" else 0)
    assert f"{path}:{text.count(chr(10))}: {key}: " in r.output, f"{text}\n{r.output}"
    assert f"{high} ({high_value})" in r.output and f"{low} ({low_value})" in r.output, r.output


def test_every_numeric_parameter_is_covered():
    """The enumeration itself finds the parameters the issue names."""
    names = {f"{p[1]}.{p[3]}" for p in NUMERIC}
    assert {"length.min_chars", "ja_quality.min_zlib_ratio", "langid.thresholds", "dedup.minhash.num_perm",
            "dedup.minhash.threshold", "mix.targets", "mix.sources.<name>.weight", "tokenize.threads",
            "swallow.top_n_grams", "demo.seed", "batch.max_docs", "executor.workers"} <= names
    pairs = {(p[1], p[4], p[5]) for p in PAIRS}
    assert {("length", "min_chars", "max_chars"), ("ja_quality", "min_zlib_ratio", "max_zlib_ratio"),
            ("gopher_quality", "min_words", "max_words")} <= pairs


# --- where a refused value sits: presets, branches, stages, shorthands ------------------------


def issues_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(text)
    return [(i.line, i.dotted(), i.message) for i in e.value.issues]


HEAD = "inputs: [{type: demo, docs: 10}]\noutput: {path: out}\n"


def test_an_override_of_a_preset_is_refused_at_the_override():
    [(line, key, msg)] = issues_of(HEAD + """steps:
  - use: ja-web
    overrides:
      ja_quality:
        variant: strict
        max_zlib_ratio: 0.2
""")
    # the strict variant's lower bound (0.375) is above it: nothing would pass
    assert (line, key) == (8, "steps[0].overrides.ja_quality.max_zlib_ratio")
    assert "max_zlib_ratio (0.2) is below min_zlib_ratio (0.375)" in msg


def test_an_unset_bound_taken_from_the_variant_is_checked_too():
    [(line, key, msg)] = issues_of(HEAD + "steps:\n  - step: ja_quality\n    max_zlib_ratio: 0.25\n")
    assert (line, key) == (5, "steps[0].max_zlib_ratio") and "min_zlib_ratio (0.3)" in msg
    # only the lower bound written: the error is at the key the author wrote
    [(line, key, msg)] = issues_of(HEAD + "steps:\n  - step: ja_quality\n    min_zlib_ratio: 0.9\n")
    assert (line, key) == (5, "steps[0].min_zlib_ratio") and "max_zlib_ratio (0.7)" in msg


def test_inside_route_branches_and_per_source_chains_the_inner_key_is_named():
    issues = issues_of(HEAD + """steps:
  - step: langid
  - step: route
    branches:
      ja:
        - step: swallow
          max_katakana_frac: 1.5
        - use: ja-web
          overrides: {ja_quality: {head_chars: 0}}
      en:
        steps:
          - {step: gopher_quality, min_words: 500, max_words: 100}
  - step: per_source
    sources: [web]
    steps:
      - step: char_repetition
        threshold: 0
""")
    found = {key: (line, msg) for line, key, msg in issues}
    assert found["steps[1].branches.ja.steps[0].max_katakana_frac"][0] == 9
    assert found["steps[1].branches.ja.steps[1].overrides.ja_quality.head_chars"][0] == 11
    line, msg = found["steps[1].branches.en.steps[0].max_words"]
    assert line == 14 and "max_words (100) is below min_words (500)" in msg
    line, msg = found["steps[2].steps[0].threshold"]
    assert line == 19 and "got 0" in msg


def test_stages_in_both_forms_and_the_mix_shorthand():
    [(line, key, _)] = issues_of(HEAD + "stages:\n  - dedup:\n      minhash:\n        threshold: 1.2\n")
    assert (line, key) == (6, "stages[0].dedup.minhash.threshold")
    [(line, key, _)] = issues_of(HEAD + "stages:\n  - stage: dedup\n    label: near\n    minhash: {num_perm: 1}\n")
    assert (line, key) == (6, "stages[0].minhash.num_perm")
    # bands x rows must fit in the signature: at `bands`
    [(line, key, msg)] = issues_of(HEAD + "stages:\n  - dedup:\n      minhash: {num_perm: 64,\n"
                                          "                bands: 20, rows: 5}\n")
    assert (line, key) == (6, "stages[0].dedup.minhash.bands") and "20 x 5 = 100 exceeds num_perm = 64" in msg
    text = HEAD + "tokenizer: tok.model\nmix:\n  targets: {ja: -5}\nvalidation: {tokens_per_subset: -1}\n"
    found = {key: line for line, key, _ in issues_of(text)}
    assert found == {"mix.targets.ja": 5, "validation.tokens_per_subset": 6}


def test_a_common_crawl_file_number_is_not_negative():
    [(line, key, msg)] = issues_of("inputs:\n  - type: commoncrawl\n    crawl: CC-MAIN-2023-50\n"
                                   "    files: -1\noutput: {path: out}\n")
    assert (line, key) == (4, "inputs[0].files") and "0 or more" in msg


def test_not_a_number_and_infinity_are_refused_where_a_range_ends():
    [(line, key, _)] = issues_of(HEAD + "steps:\n  - step: lang_score\n    min_score: .nan\n")
    assert (line, key) == (5, "steps[0].min_score")
    [(line, key, _)] = issues_of(HEAD + "steps:\n  - step: fineweb\n    short_line_thr: .inf\n")
    assert (line, key) == (5, "steps[0].short_line_thr")


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipelines_are_in_range(path, tmp_path):
    from corpusforge.config import load_pipeline

    text = path.read_text(encoding="utf-8")
    if "/models/" in text:
        # the nightly recipe names its tokenizer where a cluster's nodes keep it: a stand-in there
        stand_in = tmp_path / "models"
        for name in set(re.findall(r"/models/([\w./-]+)", text)):
            (stand_in / name).parent.mkdir(parents=True, exist_ok=True)
            (stand_in / name).write_bytes(b"")
        (tmp_path / path.name).write_text(text.replace("/models/", f"{stand_in}/"), encoding="utf-8")
        path = tmp_path / path.name
    load_pipeline(str(path))  # parsed and checked; its inputs are not listed (no network)


@pytest.mark.parametrize("preset", sorted(p.stem for p in (ROOT / "filters").glob("*.yaml")))
def test_shipped_presets_are_in_range(preset):
    pipeline_from_yaml(HEAD + f"steps:\n  - use: {preset}\n")


# --- the listings show ranges, choices and nested parameters, whole in a narrow terminal ------


def _listing(command: str) -> str:
    r = runner.invoke(app, [command], env={"COLUMNS": "60"})
    assert r.exit_code == 0, r.output
    return r.output


def test_listings_show_every_parameter_whole_in_a_narrow_terminal():
    from corpusforge.cli.describe import param_line

    steps, inputs, filters = _listing("steps"), _listing("inputs"), _listing("filters")
    for kind, name, _, info in COMPONENTS:
        if kind == "section":
            continue
        shown = inputs if kind == "input" else steps
        for dotted, spec in info["params"].items():
            assert f"    {param_line(dotted, spec)}\n" in shown, (name, dotted)
    assert '    mode: "filter" | "annotate" = "filter"\n' in steps
    assert "    minhash.threshold: float = 0.8  (0.0 < x < 1.0)\n" in steps
    assert "    minhash.num_perm: int = 128  (2 <= x <= 1024)\n" in steps
    assert "    sources.<name>.weight: float = 1.0  (> 0)\n" in steps
    assert "    max_chars: int | None = null  (>= 0, >= min_chars)\n" in steps
    assert "    top_n_grams: list[tuple[int, float]] = [[2, 0.2], [3, 0.18], [4, 0.16]]  (each (>= 1, 0 <= x <= 1))\n" in steps
    assert '    format: "auto" | "warc" | "wet" = "auto"\n' in inputs
    assert "    min_zlib_ratio: float | None = null  (>= 0, <= max_zlib_ratio)\n" in filters
    assert "…" not in steps + inputs + filters
    assert max(map(len, steps.splitlines())) > 60  # long lines stayed long


def test_filters_json_carries_ranges_and_choices():
    r = runner.invoke(app, ["filters", "--json"])
    params = json.loads(r.output)["filters"]["ja_quality"]["params"]
    assert params["variant"]["choices"] == ["default", "strict"]
    assert params["zlib_level"]["range"] == "-1 <= x <= 9"
    assert params["max_zlib_ratio"]["order"] == ">= min_zlib_ratio"
