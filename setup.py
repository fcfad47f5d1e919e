"""Package discovery only; all metadata is in pyproject.toml.

``model_cards/`` sits at the top of the repository (the card templates are part of the project's layout) and is
shipped inside the wheel as ``yolo_transformers.model_cards``; pyproject.toml alone cannot combine package
discovery with that mapping.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["yolo_transformers", "yolo_transformers.*"]), "yolo_transformers.model_cards"],
    package_dir={"yolo_transformers.model_cards": "model_cards"},
)
