"""Route blueprints, one module per concept. Handlers only translate: parse, call, shape."""
from chalicelib.handlers import meta

BLUEPRINTS = [meta.bp]
