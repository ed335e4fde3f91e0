"""Database errors that do not quote what was stored.

PostgreSQL's message for a failed constraint goes on with the failing row ("DETAIL:
Failing row contains (...)"): answer text, e-mail addresses, password hashes. The engine's
hide_parameters keeps SQLAlchemy from quoting the bound values; this keeps the driver's
message to its first line, the primary message, which names the constraint but no value.
Code that needs the detail still finds it in the driver error's `diag`.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext


def _first_line(args: tuple) -> tuple:
    if args and isinstance(args[0], str) and "\n" in args[0]:
        return (args[0].split("\n", 1)[0], *args[1:])
    return args


def _primary_message_only(context: ExceptionContext) -> None:
    # Both the driver's error and SQLAlchemy's wrapper (which copied the driver's message
    # when it was made) keep their first line only; types, codes and `diag` are untouched.
    context.original_exception.args = _first_line(context.original_exception.args)
    if context.sqlalchemy_exception is not None:
        wrapper = context.sqlalchemy_exception
        wrapper.args = _first_line(wrapper.args)


def keep_data_out_of_errors(engine: Engine) -> Engine:
    """engine, its statement errors reduced to messages that quote no stored value."""
    event.listen(engine, "handle_error", _primary_message_only)
    return engine
