"""Grading, in the order a class flows through it: submissions → keys → sheets → report.

``submissions`` reads a class's answers (CSV or JSON); ``keys`` gives the key (a saved quiz JSON,
or regenerated through generation's ``generate``); ``questions`` checks one answer to one variant
through ``checker`` (the sandboxed answer checker); ``sheets`` grades a batch against the key;
``analysis`` and ``report`` make the item analysis and grades.csv, report.json and report.md.
All of it is pure apart from the checker's sandbox worker: ``engine.api.grade`` reads and writes files.
"""
