"""Slurm's output formats, from the daemon's records (docs/API.md): the one import for commands.

Each command's printer lives with its concern - `cli.squeueformat` (``-o``, ``-O``, array
folding), `cli.sacctformat` (fields, widths, ``-p``/``-P``, steps), `cli.sinfoformat`,
`cli.scontrolformat` (``show config``, ``show job``) - on the column rules of `cli.columns`;
this module gathers their public names and adds `format_json`.

``--json`` (Berth's shape, not Slurm's OpenAPI one): ``json.dumps`` of one object whose keys
name the record lists, indented by two spaces, with a final newline:
``squeue --json`` and ``sacct --json`` -> ``{"jobs": [<job resource>, ...]}`` (one record per
array task, nothing folded); ``sinfo --json`` -> ``{"nodes": [...], "partitions": [...]}``;
``scontrol show config --json`` -> ``{"config": {...}}``; ``scontrol show job --json`` ->
``{"jobs": [...]}``. Records are passed through unchanged, so the keys are the API's.
"""

from __future__ import annotations

import json

from cli.columns import FormatError, fit, parse_named_format, parse_percent_format
from cli.sacctfields import BRIEF_FIELDS, DEFAULT_FIELDS
from cli.sacctformat import SacctField, SacctMode, format_sacct, parse_sacct_fields, sacct_rows
from cli.scontrolformat import format_config, format_job_details
from cli.sinfoformat import format_sinfo
from cli.squeueformat import (
    DEFAULT_FORMAT,
    LONG_FORMAT,
    START_FORMAT,
    QueueRow,
    format_squeue,
    job_id_text,
    queue_rows,
)

__all__ = [
    "BRIEF_FIELDS",
    "DEFAULT_FIELDS",
    "DEFAULT_FORMAT",
    "LONG_FORMAT",
    "START_FORMAT",
    "FormatError",
    "QueueRow",
    "SacctField",
    "SacctMode",
    "fit",
    "format_config",
    "format_job_details",
    "format_json",
    "format_sacct",
    "format_sinfo",
    "format_squeue",
    "job_id_text",
    "parse_named_format",
    "parse_percent_format",
    "parse_sacct_fields",
    "queue_rows",
    "sacct_rows",
]


def format_json(**sections: object) -> str:
    """``format_json(jobs=[...])`` -> ``{"jobs": [...]}`` as indented JSON plus a newline."""
    return json.dumps(sections, indent=2) + "\n"
