"""Pure builders: map layers as GeoJSON dicts, legends, panels and lists. No database, no server."""
