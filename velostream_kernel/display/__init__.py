"""Live result rendering shared by the kernel and `%%velo`: tables, Plotly charts, status lines."""

from velostream_kernel.display.chart import choose_figure
from velostream_kernel.display.live import LiveResult, Publisher, static_table
from velostream_kernel.display.table import ResultTable

__all__ = ["LiveResult", "Publisher", "ResultTable", "choose_figure", "static_table"]
