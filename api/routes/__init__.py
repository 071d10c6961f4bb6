"""One router per domain noun; each route checks the principal through ``api.scope``."""
