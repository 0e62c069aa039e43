"""The command line: commands, options, terminal output and how the process ends."""
