"""`python -m service.security new | hash`: make an API key, or hash one read from stdin."""

import sys

from service.security.api_keys import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
