"""A baseline provider for ``make bench``, written the way crhelper's README recommends."""
