import sys


def run() -> None:
    """Entry point: Ctrl-C while the heavy imports load is a quiet exit too."""
    try:
        from assistant.cli.main import main
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
