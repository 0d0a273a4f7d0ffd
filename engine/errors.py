"""The platform's exception tree, drawn once.

    A2PError                      base of every error the platform raises on purpose
    ├── ConfigError               a user-supplied file is wrong: names the file, the field, the problem
    │   ├── ScenarioError         a simulation scenario file
    │   └── RouteTableError       a route table / channel config file
    ├── UnknownPolicyError        a policy name nobody registered (lists the known ones)
    ├── UnknownScenarioError      a scenario name that is neither bundled nor a file
    ├── InvalidNumberError        a destination that is not a valid E.164 mobile number
    └── NoRouteError              no candidate route for a destination

Foreign errors (tomllib, phonenumbers, numpy) are mapped to these at the module that calls them,
so the CLI can print one clean line for user errors and keep tracebacks for real bugs. Every error
pickles to itself (Ray hands an actor's error to its caller that way).
"""

from __future__ import annotations


class A2PError(Exception):
    """Base of every error the platform raises on purpose."""


class ConfigError(A2PError):
    """A user-supplied file is invalid; the message names the file, the field and the problem."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str, str]]:
        # Rebuilt from its parts when pickled (Ray sends an actor's errors to the caller this way).
        return type(self), (self.source, self.field, self.problem)


class ScenarioError(ConfigError):
    """A simulation scenario file is invalid."""


class RouteTableError(ConfigError):
    """A route table or channel configuration is invalid."""


class UnknownPolicyError(A2PError, KeyError):
    """A policy name that is not registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown policy {name!r}; known policies: {', '.join(self.known)}")

    def __reduce__(self) -> tuple[type[UnknownPolicyError], tuple[str, list[str]]]:
        return type(self), (self.name, self.known)

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class UnknownScenarioError(A2PError):
    """A scenario that is neither bundled nor an existing file."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(
            f"unknown scenario {name!r}: not a bundled scenario ({', '.join(self.known)}) "
            "and not a readable file"
        )

    def __reduce__(self) -> tuple[type[UnknownScenarioError], tuple[str, list[str]]]:
        return type(self), (self.name, self.known)


class InvalidNumberError(A2PError, ValueError):
    """A destination that is not a valid E.164 mobile number."""

    def __init__(self, number: str, reason: str) -> None:
        self.number = number
        self.reason = reason
        super().__init__(f"invalid number {number!r}: {reason}")

    def __reduce__(self) -> tuple[type[InvalidNumberError], tuple[str, str]]:
        return type(self), (self.number, self.reason)


class NoRouteError(A2PError):
    """No candidate route matches a destination."""
