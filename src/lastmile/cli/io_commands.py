"""Commands that read and write logs: ``inspect``, ``load``, ``convert``."""
