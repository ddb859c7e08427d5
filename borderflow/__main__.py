from borderflow.analysis.cli import cli

cli()
