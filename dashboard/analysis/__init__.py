"""Pure analysis of one crossing's data, tested without a server or a database.

``flows`` (daily series, 7-day means, year-over-year, the seasonal baseline and its robust
z-score anomaly flags), ``mirror`` (one side's exit against the other side's entry), ``waits``
(waiting times against the Green Lanes bands) and ``risk`` (detections per 10,000 crossings).
Inputs are the rows the query functions of ``dashboard.queries.crossing`` return; outputs are
DataFrames that the chart builders and the CSV export both use.
"""
