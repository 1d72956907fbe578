"""Analytics: measurements over the warehouse (the overview first; retention, funnels, ROI later).

The public surface is :mod:`userops.analytics.overview` and :mod:`userops.analytics.schemas`;
``queries`` builds the Ibis expressions and is private to this domain.
"""
