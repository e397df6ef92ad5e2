"""`asterisklint` with the one application it does not know yet: app_amd's AMD(), which the
dialer's customer-first context runs. Usage: python lint_runner.py dialplan-check FILE"""
from __future__ import annotations

import os
import sys

from asterisklint.app.base import AppBase
from asterisklint.application import AppLoader
from asterisklint.main import main


class AMD(AppBase):
    @property
    def module(self) -> str:
        return "app_amd"


if __name__ == "__main__":
    AppLoader().register(AMD())
    sys.exit(main(sys.argv[1:], os.environ))
