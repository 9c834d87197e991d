"""Commands registered by lastmile.cli.demo_commands."""
