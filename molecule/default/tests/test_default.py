from conftest import converge_recap


def test_marker(host):
    assert host.file("/etc/mailops-marker").content_string == "bench\n"


def test_check_mode_reports_no_changes():
    recap, _ = converge_recap("--check")
    assert all(counts["changed"] == 0 for counts in recap.values()), recap
