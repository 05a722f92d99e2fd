"""Who looked at whom: the access log of views of people's data, and the hash chains that make it and the audit
trail tamper-evident (issue 12, point 8)."""
