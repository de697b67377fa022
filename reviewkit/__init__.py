"""reviewkit: review Linux kernel patch series the way a careful mm reviewer does."""

__version__ = "0.1.0"
