"""Menagerie's TensorFlow core: transfer-learning image classifiers (see docs/classifier-api.md).

Importing this package (or any of its modules) must not import TensorFlow: functions that need it import it inside
their bodies, so the web process and `python -m classifier --help` stay light.
"""
