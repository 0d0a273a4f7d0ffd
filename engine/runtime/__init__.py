"""The only code that imports Ray: thin actor shells over the plain classes of the engine."""
