"""Export formats; importing this package registers each bundled writer."""

from engine.writers import json_writer, markdown  # noqa: F401
