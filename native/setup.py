"""Build of the optional C extension ``dataver_native`` (metadata lives in pyproject.toml).

Nothing is compiled on Windows: the scan is POSIX (dataver uses its Python walk there).
"""

import sys

from setuptools import Extension, setup

setup(
    ext_modules=[]
    if sys.platform == "win32"
    else [
        Extension(
            "dataver_native",
            ["src/dataver_native.c"],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-pthread"],
            extra_link_args=["-pthread"],
        )
    ]
)
