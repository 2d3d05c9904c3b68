"""Packages and bundled data for the wheel; the rest of the metadata is in pyproject.toml.

The data lives in top-level folders of the checkout (abis/, policies/, fixtures/). A regular wheel
(`pip install .`, `pipx install .`) carries it as package data under copilot/_data/, which
copilot.resources reads when there is no checkout beside the package. Only what the program reads at
run time goes in: the test-only fixtures (ethereum-tests, contracts, audit histories) stay out. This
lives in setup.py because pyproject's `packages.find` cannot be combined with packages mapped from
other folders.
"""

from setuptools import find_packages, setup

BUNDLED = {
    "copilot._data.abis": "abis",
    "copilot._data.policies": "policies",
    "copilot._data.fixtures.demo": "fixtures/demo",
    "copilot._data.fixtures.requests": "fixtures/requests",
    "copilot._data.fixtures.erc7730": "fixtures/erc7730",
}

setup(
    packages=[*find_packages(include=["copilot", "copilot.*"]), *BUNDLED],
    package_dir=BUNDLED,
    package_data={name: ["**/*"] for name in BUNDLED},
)
