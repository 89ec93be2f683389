"""``code_route``: source code is routed by file extension, not by fastText.

Rows of the configured code sources get ``lang: code`` and a ``code_lang`` column from
their file extension (or their file name, for Dockerfile/Makefile); an extension outside
the allow-list is removed with reason ``extension``. Other sources pass through with
a null ``lang`` for the ``langid`` step to fill.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.schema import LANG, SOURCE, URL
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register

CODE_LANG = "code_lang"

#: the 67-extension allow-list of RedPajama's GitHub subset (used for LLM-jp's code), by language
EXTENSIONS: dict[str, str] = {
    **dict.fromkeys(["asm"], "assembly"),
    **dict.fromkeys(["bat", "cmd"], "batchfile"),
    **dict.fromkeys(["c", "h"], "c"),
    **dict.fromkeys(["cs"], "c#"),
    **dict.fromkeys(["cpp", "hpp", "c++", "h++", "cc", "hh", "C", "H"], "c++"),
    **dict.fromkeys(["cmake"], "cmake"),
    **dict.fromkeys(["css"], "css"),
    **dict.fromkeys(["dockerfile", "Dockerfile"], "dockerfile"),
    **dict.fromkeys(["f90", "f", "f03", "f08", "f77", "f95", "for", "fpp"], "fortran"),
    **dict.fromkeys(["go"], "go"),
    **dict.fromkeys(["hs"], "haskell"),
    **dict.fromkeys(["html"], "html"),
    **dict.fromkeys(["java"], "java"),
    **dict.fromkeys(["js"], "javascript"),
    **dict.fromkeys(["jl"], "julia"),
    **dict.fromkeys(["lua"], "lua"),
    **dict.fromkeys(["md", "markdown"], "markdown"),
    **dict.fromkeys(["php", "php3", "php4", "php5", "phps", "phpt"], "php"),
    **dict.fromkeys(["pl", "pm", "pod", "perl"], "perl"),
    **dict.fromkeys(["ps1", "psd1", "psm1"], "powershell"),
    **dict.fromkeys(["py"], "python"),
    **dict.fromkeys(["rb"], "ruby"),
    **dict.fromkeys(["rs"], "rust"),
    **dict.fromkeys(["sql"], "sql"),
    **dict.fromkeys(["scala"], "scala"),
    **dict.fromkeys(["sh", "bash", "command", "zsh"], "shell"),
    **dict.fromkeys(["ts", "tsx"], "typescript"),
    **dict.fromkeys(["tex"], "tex"),
    **dict.fromkeys(["vb"], "visual basic"),
    **dict.fromkeys(["makefile", "Makefile"], "makefile"),
    **dict.fromkeys(["xml"], "xml"),
    **dict.fromkeys(["rst"], "restructuredtext"),
    **dict.fromkeys(["m"], "objective-c"),
    **dict.fromkeys(["smali"], "smali"),
}


class CodeRouteConfig(FilterConfig):
    #: the sources that hold code (values of the ``source`` column); none: any document whose
    #: path has an allow-listed extension is code, and the others pass through
    sources: list[str] | None = None
    #: the column holding the file path (The Stack: max_stars_repo_path); falls back to url
    path_column: str = "path"
    #: extension (or file name) -> language; default: the 67-extension allow-list
    extensions: dict[str, str] = EXTENSIONS
    keep_signals: bool = True


@register
class CodeRoute(Filter[CodeRouteConfig]):
    """Route code documents to ``lang: code`` with ``code_lang`` from the file extension."""

    name = "code_route"
    adds = (LANG, CODE_LANG)

    def signals(self, batch: pa.Table) -> dict[str, pa.Array]:
        cfg = self.config
        n = batch.num_rows
        col = cfg.path_column if cfg.path_column in batch.column_names else URL
        paths = batch.column(col) if col in batch.column_names else pa.nulls(n, pa.string())
        paths = pc.cast(paths, pa.string())
        name = pc.struct_field(pc.extract_regex(paths, r"(?P<name>[^/\\?#]*)(?:[?#].*)?$"), "name")
        ext = pc.struct_field(pc.extract_regex(name, r"\.(?P<ext>[^.]+)$"), "ext")
        # an extension-less file name (Makefile, Dockerfile) stands for its own extension
        ext = pc.coalesce(ext, name)
        keys = pa.array(list(cfg.extensions), pa.string())
        values = pa.array(list(cfg.extensions.values()), pa.string())
        code_lang = pc.take(values, pc.index_in(ext, value_set=keys))
        if cfg.sources is None:
            is_code = code_lang.is_valid()
        else:
            is_code = pc.fill_null(pc.is_in(batch.column(SOURCE), value_set=pa.array(cfg.sources)), False)
        code_lang = pc.if_else(is_code, code_lang, pa.nulls(n, pa.string()))
        preset = batch.column(LANG) if LANG in batch.column_names else pa.nulls(n, pa.string())
        lang = pc.if_else(is_code, pa.scalar("code"), preset)
        return {LANG: pa.chunked_array(lang).combine_chunks() if isinstance(lang, pa.ChunkedArray) else lang,
                CODE_LANG: code_lang.combine_chunks() if isinstance(code_lang, pa.ChunkedArray) else code_lang,
                "_is_code": is_code}

    def decide(self, batch: pa.Table, signals: dict) -> tuple[np.ndarray, pa.Array]:
        is_code = signals.pop("_is_code").to_numpy(zero_copy_only=False)
        unknown = is_code & signals[CODE_LANG].is_null().to_numpy(zero_copy_only=False)
        return self.first_failure([("extension", unknown)], batch.num_rows)
