"""Built-in capabilities, each a plugin using the public module API (``shequn.engine.module``)."""
