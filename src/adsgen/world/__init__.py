"""The shared world a plan runs in: households, platforms' calendars, inventory, allocation.

Pure (NumPy only, no I/O), between `build` (plans) and `simulate` (hourly facts): what every
line item of a plan shares — who watches, when, and how many ad slots there are — computed
once for the whole plan and the seed, so that blocks of line items simulate independently.
"""
