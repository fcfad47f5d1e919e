"""Hostile card fields (attack class 13): every interpolated value is escaped for its context, so no link or image
renders from a class name and no line break escapes its line (YAML header, table cell, heading, code snippet)."""

from __future__ import annotations

import ast
import copy
import re

import pytest
import yaml
from markdown_it import MarkdownIt

from yolo_transformers import YoloConfig
from yolo_transformers.cards import generate_model_card
from yolo_transformers.errors import ConfigError

HOSTILE_NAMES = [
    "![x](https://evil.example/p.png)",
    "[click](https://evil.example/login)",
    "<img src=x onerror=alert(1)>",
    "https://evil.example/bare",
    "a|b",
    "x\n```\nimport os; os.system('touch pwned')\n```\n# Heading",
    "`code` *em* _em_ ~~s~~",
]


@pytest.fixture(scope="module")
def benign_config(converted_tiny_detector) -> YoloConfig:
    return YoloConfig.from_pretrained(converted_tiny_detector)


def _hostile(config: YoloConfig) -> YoloConfig:
    config = copy.deepcopy(config)
    names = [*HOSTILE_NAMES, *(f"c{i}" for i in range(len(HOSTILE_NAMES), len(config.id2label)))]
    config.id2label = dict(enumerate(names))
    config.architecture = {**config.architecture, "nc": len(names),
                           "yaml_file": "x`](https://evil.example/y) `\n# owned.yaml", "scale": "n`\n| x"}
    config.source_sha256 = "``\n![i](https://evil.example/s.png)"
    config.ultralytics_version = "8.4\n# New heading\n[l](https://evil.example)"
    config.train_args = {**(config.train_args or {}), "optimizer": "SGD](https://evil.example/o)",
                         "data": "https://evil.example/d.yaml"}
    config.metrics = {**(config.metrics or {}), "metrics/[x](https://evil.example)(B)": 0.5}
    return config


def _rendered(text: str) -> str:
    body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(body)


def _structure(text: str) -> dict:
    html = _rendered(text)
    return {"links": re.findall(r'<a href="([^"]*)"', html), "images": re.findall(r'<img src="([^"]*)"', html),
            "headings": len(re.findall(r"<h[1-6]", html)), "code_blocks": len(re.findall(r"<pre>", html)),
            "lines": len(text.splitlines())}


def test_hostile_fields_render_no_link_image_heading_or_line(benign_config):
    benign = str(generate_model_card(benign_config, repo_id="alice/shapes"))
    hostile = str(generate_model_card(_hostile(benign_config), repo_id="alice/shapes"))
    assert "evil.example" not in "".join(_structure(hostile)["links"] + _structure(hostile)["images"])
    benign_structure, hostile_structure = _structure(benign), _structure(hostile)
    for key in ("links", "images"):
        assert len(hostile_structure[key]) == len(benign_structure[key]), key
    for key in ("headings", "code_blocks"):
        assert hostile_structure[key] == benign_structure[key], key
    assert "<img src=x" not in _rendered(hostile)  # no raw HTML


def test_hostile_fields_leave_yaml_and_code_snippets_intact(benign_config):
    text = str(generate_model_card(_hostile(benign_config), repo_id="alice/shapes"))
    front = yaml.safe_load(re.match(r"---\n(.*?)\n---\n", text, re.S).group(1))
    assert front["library_name"] == "transformers" and front["license"] == "agpl-3.0"
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        tree = ast.parse(block)
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                   for alias in node.names} | {node.module for node in ast.walk(tree)
                                               if isinstance(node, ast.ImportFrom)}
        assert "os" not in modules
    assert "\nimport os" not in text and "\n# owned" not in text and "\n# New heading" not in text


def test_non_numeric_thresholds_never_reach_the_code_snippet(benign_config):
    config = copy.deepcopy(benign_config)
    config.conf_threshold = "0.25)\nimport os\nprint(("
    with pytest.raises(ConfigError, match="conf_threshold"):
        generate_model_card(config, repo_id="alice/shapes")
