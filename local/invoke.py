"""The old home of :class:`LambdaContext`, kept while tests/unit imports it from here; it lives in
:mod:`local.runtime.bootstrap`. To delete once tests/unit uses its own fake context."""

from local.runtime.bootstrap import LambdaContext

__all__ = ["LambdaContext"]
