"""Loading policies: shipped ones, name resolution, and errors that name the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.errors import ConfigError
from copilot.policy import available_policies, load_policy
from copilot.resources import policies_dir
from copilot.state.dirs import config_dir


def test_shipped_policies_load_and_are_listed() -> None:
    names = available_policies()
    assert {"default", "paranoid", "everyday", "daily-limit"} <= set(names)
    for name in names:
        policy = load_policy(name)
        assert policy.file == f"{name}.toml"
        assert policy.rule("x") == f"policy:{name}.toml:x"


def test_no_name_means_the_configs_policy_or_the_default() -> None:
    assert load_policy(None).name == "default"
    (config_dir() / "config.toml").write_text('[review]\npolicy = "everyday"\n')
    assert load_policy(None).name == "everyday"


def test_a_policy_in_the_config_dir_wins_over_a_shipped_one() -> None:
    folder = config_dir() / "policies"
    folder.mkdir()
    (folder / "everyday.toml").write_text('name = "my everyday"\ndefault = "confirm"\n')
    policy = load_policy("everyday")
    assert policy.name == "my everyday"
    assert policy.spec.default == "confirm"
    assert "everyday" in available_policies()


def test_a_path_loads_that_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[chains]\nallowed = [1]\n")
    policy = load_policy(str(path))
    assert policy.file == "mine.toml"
    assert policy.spec.chains.allowed == [1]


def test_unknown_name_lists_the_available_policies() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("nope")
    assert "no policy named 'nope'" in err.value.message
    assert "everyday" in (err.value.hint or "")


def _error(tmp_path: Path, text: str, name: str = "bad.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_policy(str(path))
    return err.value.one_line()


def test_bad_verdict_names_file_line_and_fix(tmp_path: Path) -> None:
    text = '# my policy\nname = "x"\n\n[verdicts]\ncritical = "block"\nhigh = "maybe"\n'
    line = _error(tmp_path, text)
    assert f"{tmp_path / 'bad.toml'}:6: verdicts.high" in line
    assert '"allow", "confirm" or "block"' in line


def test_misspelt_key_is_named_with_its_line(tmp_path: Path) -> None:
    line = _error(tmp_path, '[limits]\naction = "confirm"\ndialy_usd = 100\n')
    assert "bad.toml:3: limits.dialy_usd" in line
    assert "not a policy key" in line


def test_bad_checksum_in_a_list_points_at_the_key_and_suggests_the_fix(tmp_path: Path) -> None:
    text = '[allow]\naddresses = [\n  "0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266",\n]\n'
    line = _error(tmp_path, text)
    assert "bad.toml:2: allow.addresses" in line
    assert "did you mean 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in line


def test_nested_table_errors_find_the_nested_key(tmp_path: Path) -> None:
    text = '[limits]\ndaily_usd = 100\n\n[limits.assets.ETH]\ntx = "1"\ndaily = "lots"\n'
    assert "bad.toml:6: limits.assets.ETH.daily" in _error(tmp_path, text)


def test_negative_limit_is_refused(tmp_path: Path) -> None:
    assert "bad.toml:2: confirm.above_usd" in _error(tmp_path, "[confirm]\nabove_usd = -5\n")


def test_bad_function_entry(tmp_path: Path) -> None:
    line = _error(tmp_path, '[deny]\nfunctions = ["transfer"]\n')
    assert "bad.toml:2: deny.functions" in line
    assert "0xa9059cbb" in line


def test_toml_syntax_error_has_its_line(tmp_path: Path) -> None:
    line = _error(tmp_path, 'name = "x"\n[verdicts\n')
    assert "line 2" in line
    assert "fix the TOML syntax" in line


def test_missing_blocklist_file_names_the_key_line(tmp_path: Path) -> None:
    line = _error(tmp_path, '[deny]\naddresses = []\nblocklist = "nowhere.txt"\n')
    assert "bad.toml:3: deny.blocklist" in line
    assert "relative to the policy file" in line


def test_bad_blocklist_entry_names_the_blocklist_line(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("# drainers\n0x" + "ab" * 20 + " known\n0x1234\n")
    line = _error(tmp_path, '[deny]\nblocklist = "list.txt"\n')
    assert f"{tmp_path / 'list.txt'}:3" in line


def test_blocklist_is_relative_to_the_policy_file(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "drainers.txt").write_text("0x" + "AB" * 20 + "  # inferno\n\n# comment\n")
    path = tmp_path / "p.toml"
    path.write_text('[deny]\nblocklist = "lists/drainers.txt"\n')
    assert load_policy(str(path)).blocklist == {"0x" + "ab" * 20}


def test_bad_severity_override_key(tmp_path: Path) -> None:
    assert "bad.toml:2: severity.approval*" in _error(tmp_path, '[severity]\n"approval*" = "low"\n')


def test_shipped_drainer_list_has_only_comments_or_addresses() -> None:
    # The shipped blocklist parses (an invalid line would make every shipped policy fail to load).
    assert load_policy("default").blocklist == load_policy("paranoid").blocklist
    assert (policies_dir() / "drainers.txt").read_text().startswith("#")


def test_a_changed_policy_file_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('default = "allow"\n')
    assert load_policy(str(path)).spec.default == "allow"
    path.write_text('default = "confirm"\n')
    assert load_policy(str(path)).spec.default == "confirm"


def test_the_readme_policy_example_is_a_valid_policy(tmp_path: Path) -> None:
    readme = (policies_dir().parent / "README.md").read_text()
    section = readme[readme.index("### Policies") : readme.index("### Your own node")]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "drainers.txt").write_text("")
    path = tmp_path / "readme.toml"
    path.write_text(example)
    policy = load_policy(str(path))
    assert policy.spec.limits.assets["ETH"].daily == 1
    assert policy.spec.chains.allowed == [1, 8453, 42161]
    assert policy.severity_prefixes == (("approval.", "high"),)


def test_readme_error_example_matches_the_real_message(tmp_path: Path) -> None:
    line = _error(
        tmp_path, '# mine\nname = "mine"\n\n[verdicts]\ncritical = "block"\nhigh = "maybe"\n', "mine.toml"
    )
    readme = (policies_dir().parent / "README.md").read_text()
    shown = line.split("mine.toml", 1)[1]
    assert f"mine.toml{shown}".replace(" ", "") in readme.replace("\n", "").replace(" ", "")


def test_an_edited_blocklist_is_reloaded(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("")
    path = tmp_path / "p.toml"
    path.write_text('[deny]\nblocklist = "list.txt"\n')
    assert load_policy(str(path)).blocklist == frozenset()
    (tmp_path / "list.txt").write_text("0x" + "ab" * 20 + "\n")
    assert load_policy(str(path)).blocklist == {"0x" + "ab" * 20}


def test_a_misspelt_severity_id_is_refused_with_the_closest_id(tmp_path: Path) -> None:
    message = _error(tmp_path, '# mine\n[severity]\n"approval.unlimted" = "low"\n')
    assert "bad.toml:3: severity.approval.unlimted: not a finding id" in message
    assert 'did you mean "approval.unlimited"' in message
    assert 'did you mean "approval.*"' in _error(tmp_path, '[severity]\n"aproval.*" = "low"\n')


def test_an_address_book_error_names_the_entrys_line(tmp_path: Path) -> None:
    text = '[address_book]\n"0x70997970C51812dc3A010C7d01b50e0d17dc79C8" = "friend"\n"0x1234" = "typo"\n'
    assert "bad.toml:3: address_book.0x1234:" in _error(tmp_path, text)
