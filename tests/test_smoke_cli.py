def test_help_lists_command_groups(cli):
    r = cli("--help")
    assert r.exit_code == 0, r
    for group in ("data", "recipes", "run", "plugins"):
        assert group in r.stdout
