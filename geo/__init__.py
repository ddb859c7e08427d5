"""Where a destination is, who operates it, and whose law reaches it."""
