"""Analytics: measurements over the warehouse.

The public surface is :mod:`userops.analytics.service` (retention, funnels, AARRR, channels and
ROI, the magic number; see docs/analytics.md), :mod:`userops.analytics.overview` and
:mod:`userops.analytics.schemas`; ``queries`` builds the Ibis expressions and is private to this
domain, ``rules`` holds the pure statistics.
"""
