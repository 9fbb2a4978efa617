"""tools/analysis/gpu_check.py, dry-run on the CPU: parity, the rows, and the docs section it keeps."""
from tools.analysis import gpu_check


def test_dry_run_checks_parity_and_writes_its_section_once(tmp_path, capsys):
    doc = tmp_path / 'benchmarks.md'
    doc.write_text('# Benchmarks\n\ntext after which the section goes\n')
    args = ['--device', 'cpu', '--quick', '--models', 'dat', '--only', '800x1344 train', '--write-docs', str(doc)]
    assert gpu_check.main(args) == 0
    printed, text = capsys.readouterr().out, doc.read_text()
    assert 'dat: float64' in printed and 'FAILED' not in printed
    assert text.startswith('# Benchmarks\n\ntext after which') and text.count(gpu_check.BEGIN) == 1
    assert 'Card: **CPU (dry run)**' in text and '| dat |' in text
    assert '| dat 800x1344 train |' in text and '| dat 224 train |' not in text  # --only
    assert gpu_check.main([*args, '--skip-rows']) == 0  # a second session replaces the section
    text = doc.read_text()
    assert text.count(gpu_check.BEGIN) == 1 and '| dat 800x1344 train |' not in text and '| dat |' in text


def test_a_parity_failure_is_the_exit_status(monkeypatch, capsys):
    # the parity itself runs in the test above; here only what a failing one makes of the run
    monkeypatch.setattr(gpu_check, 'parity', lambda name, device, quick: dict(
        float64=dict(max_rel_diff=1e-12, ok=True), float32=dict(max_rel_diff=0.5, ok=False)))
    assert gpu_check.main(['--device', 'cpu', '--quick', '--models', 'datpp', '--skip-rows']) == 1
    assert 'parity FAILED for: datpp' in capsys.readouterr().out


def test_rows_cover_every_target_most_important_first():
    rows = [title for title, _ in gpu_check.row_commands(['davit', 'dat', 'datpp'], quick=False, skip_compile=False)]
    assert rows[:4] == ['davit 224 train', 'dat 224 train', 'davit 800x1344 train', 'dat 800x1344 train']
    assert {'davit 224 amp infer', 'dat 224 compiled train', 'davit 800x1344 infer'} <= set(rows)
    assert not any(title.startswith('datpp') for title in rows)  # no reference formulation: parity only
