"""Every setting an operator can give is written down where operators look for it."""

import pytest

from shared.config import Settings
from tests.support.processes import ROOT

NAMES = [name.upper() for name in Settings.model_fields]


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_is_in_the_readme_configuration_table(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## The `culturezone` command")]
    assert f"`{name}`" in table


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_has_a_line_in_the_deployment_environment_file(name: str) -> None:
    lines = (ROOT / "deploy" / "culturezone.env.example").read_text().splitlines()
    assert any(line.lstrip("#").startswith(f"{name}=") for line in lines)


@pytest.mark.parametrize("given", ["info", "WARNING", "Debug"])
def test_log_levels_are_read_in_any_case(given: str) -> None:
    assert Settings(log_level=given).log_level == given.lower()
