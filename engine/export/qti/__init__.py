"""Canvas QTI 1.2 export: a zip with imsmanifest.xml, the assessment and its Canvas settings."""
