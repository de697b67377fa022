"""Analysis helpers shared by rules of the built-in pack (one module per topic)."""
