"""The run report: ``<output>/report.html``, one self-contained page made from what a run
leaves (``stats.json``, ``_state/status.json``, ``_state/run.json``, a few error records),
never from its documents. No script runs in it: charts are inline SVG, and every string that
comes from a document is escaped (``report/escape.py``)."""

from corpusforge.report.write import report_finished_run, run_info, write_report, write_run_info

__all__ = ["report_finished_run", "run_info", "write_report", "write_run_info"]
