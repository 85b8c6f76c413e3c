"""frontiersec: the national AI-cyber program, end to end."""

__version__ = "0.1.0"
