"""The Jupyter layer of Velostream Studio (kernel, %%velo magic, server extension): not built yet."""
