"""`make demo`: the three tasks on generated data, through the real command lines, in about 10 minutes on 2 CPU
cores. Each stage trains with tools/train.py and evaluates with tools/test.py; progress lines stream as they come.

1. classification: DaViT-T on 32x32 shapes (4 classes) -> top-1;
2. detection: Mask R-CNN with that classifier as its backbone's initialisation, on a COCO-format shapes set
   -> bbox and segm mAP, work_dirs/demo/detection.png (predictions drawn on validation images);
3. segmentation: UPerNet from the same classifier on an ADE20K-format shapes set -> mIoU,
   work_dirs/demo/segmentation.png (ground truth next to the prediction);
and work_dirs/demo/curves.png, the three runs' training losses.

Everything runs at toy scale (small images, a few hundred steps): the point is the whole code path, and numbers
clearly above chance, not the papers' accuracy.
"""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
WORK_DIR = 'work_dirs/demo'
DATA = {'cls': f'{WORK_DIR}/data/shapes', 'det': f'{WORK_DIR}/data/coco_shapes',
        'seg': f'{WORK_DIR}/data/ade_shapes'}
CONFIGS = {'cls': 'configs/demo/davit-tiny_shapes-demo.py',
           'det': 'configs/demo/mask-rcnn_davit-tiny_fpn_shapes-demo.py',
           'seg': 'configs/demo/davit-tiny_upernet_shapes-demo.py'}
TITLE = 'make demo: DaViT-T on generated data'
PROGRESS = re.compile(r'(Epoch|Iter)\((train|val|test)\)|^\w*Error|^Traceback|loaded \d+ tensors')
START = time.time()


def say(message):
    print(f'[demo {time.time() - START:5.0f}s] {message}', flush=True)


def run(stage, *args):
    """Run ``python args``, streaming its progress lines; the full log goes to work_dirs/demo/<stage>/."""
    say('python ' + ' '.join(args))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''), PYTHONUNBUFFERED='1')
    log_path = osp.join(ROOT, WORK_DIR, stage, f'{osp.basename(args[0])}.log')
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    lines = []
    with open(log_path, 'w') as log, subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True,
                                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            if PROGRESS.search(line):  # without mmengine's "date - mmengine - INFO - " prefix
                print('    ' + line.rstrip().split(' - INFO - ')[-1][:160], flush=True)
    if proc.returncode:
        sys.exit(f'{args[0]} failed (exit {proc.returncode}); full log: {log_path}')
    return ''.join(lines)


def metric(output, name):
    return float(re.findall(rf'{re.escape(name)}: (-?[\d.]+)', output)[-1])


def tile(image_paths, path, columns=3):
    """Put the drawn images side by side in a grid (one PNG to look at)."""
    from PIL import Image
    images = [Image.open(p).convert('RGB') for p in image_paths]
    zoom = max(1, -(-240 // max(i.height for i in images)))  # toy-sized images: enlarge to be readable
    images = [i.resize((i.width * zoom, i.height * zoom), Image.NEAREST) for i in images]
    width, height = max(i.width for i in images), max(i.height for i in images)
    rows = -(-len(images) // columns)
    grid = Image.new('RGB', (columns * width, rows * height), 'white')
    for index, image in enumerate(images):
        grid.paste(image, ((index % columns) * width, (index // columns) * height))
    grid.save(path)


def drawn_images(show_dir, count):
    paths = sorted(glob.glob(osp.join(show_dir, '**', '*.png'), recursive=True) +
                   glob.glob(osp.join(show_dir, '**', '*.jpg'), recursive=True))
    if not paths:
        sys.exit(f'No drawn predictions found in {show_dir}.')
    return paths[:count]


def train_and_test(stage, train_args=(), test_args=()):
    """tools/train.py, then tools/test.py on its last checkpoint; returns (work dir, checkpoint, test output)."""
    work_dir = f'{WORK_DIR}/{stage}'
    run(stage, 'tools/train.py', CONFIGS[stage], '--work-dir', work_dir, *train_args)
    checkpoint = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    output = run(stage, 'tools/test.py', CONFIGS[stage], checkpoint, '--work-dir', f'{work_dir}/test', *test_args,
                 *train_args)
    return work_dir, checkpoint, output


def classification():
    from mmattn.datasets import make_imagenet_layout
    from mmattn.utils.curves import read_scalars
    say(f'1/3 classification: generating the shapes set in {DATA["cls"]}')
    make_imagenet_layout(DATA['cls'], num_train_per_class=256, num_val_per_class=64, image_size=(32, 32), seed=0,
                         class_colours=True)
    work_dir, checkpoint, output = train_and_test('cls')
    top1 = metric(output, 'accuracy/top1')
    say(f'classification: test top-1 = {top1:.2f}% (chance 25%)')
    return checkpoint, top1, (f'classification: top-1 {top1:.1f}%', read_scalars(work_dir), ['loss'])


def detection(classifier):
    from mmattn.datasets import make_coco_layout
    from mmattn.utils.curves import read_scalars
    say(f'2/3 detection: generating the COCO-format shapes set in {DATA["det"]}')
    make_coco_layout(DATA['det'], num_train=160, num_val=24, image_size=(96, 96), seed=0)
    show_dir = f'{WORK_DIR}/det/shown'
    init = ('--cfg-options', f'model.backbone.init_cfg.checkpoint={classifier}')
    work_dir, _, output = train_and_test('det', init, ('--show-dir', osp.abspath(show_dir)))
    bbox, segm = metric(output, 'coco/bbox_mAP'), metric(output, 'coco/segm_mAP')
    tile(drawn_images(show_dir, 6), f'{WORK_DIR}/detection.png')
    say(f'detection: bbox mAP = {bbox:.3f}, segm mAP = {segm:.3f}; predictions: {WORK_DIR}/detection.png')
    return bbox, segm, (f'Mask R-CNN: bbox mAP {bbox:.3f}, segm mAP {segm:.3f}', read_scalars(work_dir),
                        ['loss', 'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'])


def segmentation(classifier):
    from mmattn.datasets import make_ade20k_layout
    from mmattn.utils.curves import read_scalars
    say(f'3/3 segmentation: generating the ADE20K-format shapes set in {DATA["seg"]}')
    make_ade20k_layout(DATA['seg'], num_train=160, num_val=24, image_size=(64, 64), seed=0, num_classes=5)
    show_dir = f'{WORK_DIR}/seg/shown'
    init = ('--cfg-options', f'model.backbone.init_cfg.checkpoint={classifier}')
    work_dir, _, output = train_and_test('seg', init, ('--show-dir', show_dir))
    miou = metric(output, 'mIoU')
    tile(drawn_images(show_dir, 4), f'{WORK_DIR}/segmentation.png', columns=2)
    say(f'segmentation: mIoU = {miou:.2f}% (5 classes); ground truth | prediction: {WORK_DIR}/segmentation.png')
    return miou, (f'UPerNet: mIoU {miou:.1f}%', read_scalars(work_dir), ['loss', 'decode.loss_ce', 'aux.loss_ce'])


def main():
    os.chdir(ROOT)
    sys.path.insert(0, ROOT)
    os.makedirs(WORK_DIR, exist_ok=True)
    for entry in os.listdir(WORK_DIR):  # a fresh run each time; the generated data is kept
        if entry != 'data':
            path = osp.join(WORK_DIR, entry)
            shutil.rmtree(path) if osp.isdir(path) else os.remove(path)
    from mmattn.utils.curves import plot_runs
    curves = f'{WORK_DIR}/curves.png'
    classifier, top1, stage = classification()
    stages = [stage]
    plot_runs(stages, curves, TITLE)  # redrawn after each stage: a failed later stage keeps the earlier curves
    bbox, segm, stage = detection(classifier)
    stages.append(stage)
    plot_runs(stages, curves, TITLE)
    miou, stage = segmentation(classifier)
    stages.append(stage)
    plot_runs(stages, curves, TITLE)
    say(f'done. top-1 {top1:.2f}% | bbox mAP {bbox:.3f}, segm mAP {segm:.3f} | mIoU {miou:.2f}%; '
        f'training curves: {curves}')
    failures = [name for name, ok in (('classification top-1', top1 >= 50), ('detection bbox mAP', bbox >= 0.1),
                                      ('segmentation mIoU', miou >= 40)) if not ok]
    if failures:
        sys.exit(f'The demo models did not learn ({", ".join(failures)} too low): something is wrong.')


if __name__ == '__main__':
    main()
