"""laoke (老客): keep in touch with customers and turn happy ones into referrers."""

__version__ = "0.1.0"
