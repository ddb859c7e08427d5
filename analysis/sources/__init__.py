"""One adapter per input kind; each turns its input into Observations for the pipeline."""
