"""Rendering templates in a sandbox: no attribute tricks, no unknown names, bounded output.

Template text is written by tenant staff, so it runs in Jinja's immutable sandbox with
`StrictUndefined`, no globals (no `range`, no `cycler`) and capped arithmetic on
strings and lists. `check_source` is what a save runs: it refuses syntax errors, names
the purpose does not declare and anything the sandbox blocks, by rendering the text
with the purpose's sample values.
"""

from __future__ import annotations

import operator
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from laoke.errors import N_, Invalid

MAX_SOURCE = 5000
MAX_OUTPUT = 20_000
_MAX_REPEAT = 2000


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            raise SecurityError("power is not allowed in templates")
        if isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
            count = right if isinstance(left, str | list | tuple) else left
            if not isinstance(count, int) or count > _MAX_REPEAT:
                raise SecurityError("repetition is too large")
        return operator.mul(left, right)


ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
ENV.globals.clear()


class TemplateRefused(Invalid):
    code = "template_invalid"
    default_message = N_("The template cannot be used.")


def check_source(source: str, allowed: frozenset[str], samples: dict[str, str], field: str) -> None:
    """Refuse a template text that would not render for every message of its purpose."""
    if len(source) > MAX_SOURCE:
        raise TemplateRefused(
            N_("A template text can be at most %(n)s characters."), field=field, n=MAX_SOURCE
        )
    try:
        ast = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(
            N_("Line %(line)s: %(error)s"), field=field, line=exc.lineno, error=exc.message or ""
        ) from exc
    if any(ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))):
        raise TemplateRefused(
            N_("Templates cannot include, extend or import other templates."),
            field=field,
            code="template_unsafe",
        )
    unknown = sorted(meta.find_undeclared_variables(ast) - allowed)
    if unknown:
        raise TemplateRefused(
            N_("Unknown variable %(names)s. Available: %(available)s."),
            field=field,
            code="unknown_variable",
            names=", ".join(unknown),
            available=", ".join(sorted(allowed)),
        )
    try:
        render(source, samples)
    except SecurityError as exc:
        raise TemplateRefused(
            N_("The template uses something that is not allowed: %(error)s"),
            field=field,
            code="template_unsafe",
            error=str(exc)[:200],
        ) from exc
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateRefused(
            N_("The template cannot be rendered: %(error)s"), field=field, error=str(exc)[:200]
        ) from exc


def render(source: str, values: dict[str, Any]) -> str:
    """Render one template text; raises jinja2 errors (callers validated at save time)."""
    output = ENV.from_string(source).render(values)
    if len(output) > MAX_OUTPUT:
        raise SecurityError("the rendered text is too long")
    return output.strip()
