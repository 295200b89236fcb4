"""Widgets shared by the editor's panels (params.py: the editors generated from `Param` declarations)."""
