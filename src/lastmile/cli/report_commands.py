"""Commands registered by lastmile.cli.report_commands."""
