"""`make demo`: generate a learnable synthetic dataset, train DaViT-T on it with tools/train.py, evaluate the
checkpoint with tools/test.py, print top-1 and plot the loss/accuracy curves to work_dirs/demo/curves.png.

It runs the real command lines on the real code path, only smaller (32x32 images, 4 classes, 6 epochs).
"""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/demo/davit-tiny_shapes-demo.py'
WORK_DIR = 'work_dirs/demo'
DATA_ROOT = 'work_dirs/demo/shapes'


def run(*args):
    print('+ python ' + ' '.join(args), flush=True)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    log_path = osp.join(ROOT, WORK_DIR, f'{osp.basename(args[0])}.log')
    with open(log_path, 'w') as f:
        f.write(proc.stdout)
    lines = [l for l in proc.stdout.splitlines() if re.search(r'Epoch\(|^\w*Error|^Traceback', l)]
    print('\n'.join(lines[-12:]), flush=True)
    if proc.returncode:
        sys.exit(f'{args[0]} failed (exit {proc.returncode}); full log: {log_path}')
    return proc.stdout


def read_scalars(work_dir):
    """The newest run's vis_data/scalars.json (one JSON record per logged step)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    records = []
    for line in open(files[-1]):
        records.append(json.loads(line))
    return records


def plot(records, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train = [r for r in records if 'loss' in r]
    val = [r for r in records if 'accuracy/top1' in r]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot([r['step'] for r in train], [r['loss'] for r in train])
    ax_loss.set(title='training loss', xlabel='iteration', ylabel='loss')
    ax_acc.plot([r['step'] for r in val], [r['accuracy/top1'] for r in val], marker='o')
    ax_acc.axhline(25, color='grey', linestyle='--', label='chance (4 classes)')
    ax_acc.set(title='validation top-1', xlabel='epoch', ylabel='top-1 (%)', ylim=(0, 100))
    ax_acc.legend(loc='lower right')
    fig.suptitle('DaViT-T on synthetic shapes (make demo)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    os.chdir(ROOT)
    os.makedirs(WORK_DIR, exist_ok=True)
    for entry in os.listdir(WORK_DIR):  # a fresh run each time; the generated data is kept
        if entry != osp.basename(DATA_ROOT):
            path = osp.join(WORK_DIR, entry)
            shutil.rmtree(path) if osp.isdir(path) else os.remove(path)
    sys.path.insert(0, ROOT)
    from mmattn.datasets import make_imagenet_layout
    print(f'Generating the synthetic shapes dataset in {DATA_ROOT} ...', flush=True)
    make_imagenet_layout(DATA_ROOT, num_train_per_class=256, num_val_per_class=64, image_size=(32, 32), seed=0,
                         class_colours=True)

    run('tools/train.py', CONFIG, '--work-dir', WORK_DIR)
    checkpoint = open(osp.join(WORK_DIR, 'last_checkpoint')).read().strip()
    train_records = read_scalars(WORK_DIR)
    output = run('tools/test.py', CONFIG, checkpoint, '--work-dir', osp.join(WORK_DIR, 'test'))
    top1 = float(re.findall(r'accuracy/top1: ([\d.]+)', output)[-1])
    plot(train_records, osp.join(WORK_DIR, 'curves.png'))
    print(f'\nDaViT-T, synthetic 4-class shapes: test top-1 = {top1:.2f}% (chance 25%)\n'
          f'checkpoint: {checkpoint}\ncurves: {WORK_DIR}/curves.png')
    if top1 < 50:
        sys.exit('The demo model did not learn (top-1 below 50%): something is wrong.')


if __name__ == '__main__':
    main()
