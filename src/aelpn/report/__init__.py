"""Presentation: querying the results datasets (``results``: ``aelpn results show``), the shared figure style
(``style``: colours, markers, labels per variant) and the plotting helpers the figure notebooks use (``plots``)."""
