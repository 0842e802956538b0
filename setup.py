"""Map the three top-level code folders onto the ``ml_connector`` namespace.

The repository keeps ``core/``, ``ledger/`` and ``plugins/`` at the top level (a product-owner
decision), yet they install as ``ml_connector.core``, ``ml_connector.ledger`` and
``ml_connector.plugins``. pyproject.toml cannot list sub-packages of a remapped folder by
discovery, so this shim does it; every other setting lives in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "core": "ml_connector.core",
    "ledger": "ml_connector.ledger",
    "plugins": "ml_connector.plugins",
}
# The conformance suite is a pytest plugin that third-party target authors load with one line,
# ``pytest_plugins = ["ml_connector.testing"]``; it lives with the engine that defines the contract.
PUBLIC_ALIASES = {"core/testing": "ml_connector.testing"}

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder, name in FOLDERS.items():
    package_dir[name] = folder
    packages.append(name)
    hidden = [sub.split("/", 1)[1] for sub in PUBLIC_ALIASES if sub.startswith(folder + "/")]
    subs = find_packages(folder, exclude=[*hidden, *(f"{h}.*" for h in hidden)])
    packages.extend(f"{name}.{sub}" for sub in subs)
for folder, name in PUBLIC_ALIASES.items():
    package_dir[name] = folder
    packages.append(name)

setup(packages=packages, package_dir=package_dir)
