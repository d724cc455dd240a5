"""Each third-party client or binary behind exactly one module that translates its errors."""
