"""Build of the optional C extension ``dataver_native`` (metadata lives in pyproject.toml)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dataver_native",
            ["src/dataver_native.c"],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-pthread"],
            extra_link_args=["-pthread"],
        )
    ]
)
