"""Bench only: `manage.py run_worker` with its SQL statements counted (bench/query_counter).

    counted_worker.py COUNT_FILE [run_worker options]

On SIGUSR1 it writes the statements sent so far to COUNT_FILE.
"""

import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

import django

django.setup()

import query_counter  # noqa: E402
from django.core.management import call_command  # noqa: E402

query_counter.install()
count_file = Path(sys.argv[1])


def report(signum, frame) -> None:
    count_file.write_text(str(query_counter.count()))


signal.signal(signal.SIGUSR1, report)
report(None, None)  # ready: the bench waits for this file before it signals
call_command("run_worker", *sys.argv[2:])
