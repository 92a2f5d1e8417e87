"""The reference geodata shipped with borderwatch (package data; see MANIFEST.md).

Nothing to import here: ``etl.settings.SHIPPED_GEODATA`` names this folder, in a checkout and in
an installed wheel alike, and ``BORDERWATCH_GEODATA_DIR`` may point elsewhere.
"""
