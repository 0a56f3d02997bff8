"""Benchmark harness for cloudtasks-emu (issue 7): run with `python scripts/bench --quick` (see cli.py).

Imports the official google-cloud-tasks client, never cloudtasks_emu: the emulators run as subprocesses.
"""
