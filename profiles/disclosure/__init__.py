"""Disclosure rules (YAML) and their vocabulary; a package only so the YAML ships in wheels."""
