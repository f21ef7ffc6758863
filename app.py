"""Start the demo: ``python app.py [--host HOST] [--port PORT] [--share] [--checkpoint PATH_OR_REPO] [--threads N]``."""

from app.cli import main

if __name__ == "__main__":
    main()
