"""Optional compiled build of the policy core's hot path (everything else is in pyproject.toml).

``BERTH_COMPILE=1 pip install --no-build-isolation .`` (with mypy installed, as the ``dev``
extra does, and a C compiler) compiles the modules below with mypyc, from the same source the
interpreter runs: same decisions, about 1.4-1.6x faster trace replays (``bench/sim_speed.py
--compiled``). Without the variable the install is pure Python, as for development: an editable
install is never compiled, so a compiled module can never shadow an edited source file.
"""

import os

from setuptools import setup

# The modules every scheduling pass runs through. Data model modules (model, plan, snapshot,
# policy, limits) stay interpreted: copies and pickles of their frozen values must keep working.
COMPILED = [
    "scheduler/availability.py",
    "scheduler/backfill.py",
    "scheduler/cycle.py",
    "scheduler/eligibility.py",
    "scheduler/heads.py",
    "scheduler/passcache.py",
    "scheduler/placement.py",
    "scheduler/preemption.py",
    "scheduler/priority.py",
    "scheduler/queueindex.py",
    "scheduler/runningprofile.py",
    "scheduler/seqdiff.py",
    "sim/driver.py",
]

extensions = []
if os.environ.get("BERTH_COMPILE") == "1":
    from mypyc.build import mypycify

    extensions = mypycify(COMPILED, opt_level="3")

setup(ext_modules=extensions)
