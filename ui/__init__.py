"""NodeTrainer's desktop app (PySide6): views over the core's Graph that send every edit through it."""
