"""``python -m testbed.aws_standin ENGINE``: serve the AWS stand-in as the engine's ``aws`` resource plugin."""

import sys

from pulumi.provider.experimental.server import main

from testbed.aws_standin.provider import VERSION, AwsStandin

if __name__ == "__main__":
    main(sys.argv[1:], VERSION, AwsStandin())
