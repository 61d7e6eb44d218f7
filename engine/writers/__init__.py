"""Export formats; importing this package registers each bundled writer."""

from engine.writers import json_writer, markdown, moodle  # noqa: F401
