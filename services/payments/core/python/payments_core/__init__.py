"""The payments service's matching core, compiled from Rust (see services/payments/core/src).

`payments.domain` re-exports what its modules document; import from there, not from here."""

from payments_core import _native

__all__ = ["_native"]
