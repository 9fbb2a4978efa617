"""Check every image and annotation file a config will read, before hours of training find a broken one.

    python tools/misc/verify_dataset.py CONFIG [--split train val test] [--num-process 8] [--out-path FILE]

Classification, detection and segmentation configs alike: each image must decode to a non-empty picture;
a segmentation map must decode and have its image's size; a detection image must have the size its COCO record
states. Runs in parallel with a progress bar, lists the bad files (also written to --out-path), exits 1 if any.
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

import mmattn.compat  # noqa: F401  (weights-only loading, registries)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check that every data file of a config can be read')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', nargs='+', default=['train', 'val', 'test'], choices=['train', 'val', 'test'],
                        help='which dataloaders to check. Defaults to all three')
    parser.add_argument('--num-process', type=int, default=8, help='parallel processes. Defaults to 8')
    parser.add_argument('--out-path', default='bad_files.txt', help="where to list the bad files. Defaults to "
                        "'bad_files.txt'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings in the config')
    return parser.parse_args(argv)


def read_image(path: str, flag: str = 'color'):
    import mmcv
    from mmengine import fileio
    image = mmcv.imfrombytes(fileio.get(path), flag=flag)
    if image is None or image.size == 0:
        raise ValueError('does not decode to an image')
    return image


def check_record(record: dict) -> Optional[str]:
    """'<file>: <problem>' for the first unreadable or inconsistent file of one data record, else None."""
    path = record['img_path']
    try:
        image = read_image(path)
        expected = (record.get('height'), record.get('width'))
        if None not in expected and tuple(image.shape[:2]) != expected:
            return f'{path}: {image.shape[1]}x{image.shape[0]} pixels, the annotation says {expected[1]}x{expected[0]}'
        if record.get('seg_map_path'):
            path = record['seg_map_path']
            label = read_image(path, flag='unchanged')
            if label.shape[:2] != image.shape[:2]:
                return (f'{path}: label map {label.shape[1]}x{label.shape[0]}, '
                        f'its image {image.shape[1]}x{image.shape[0]}')
    except Exception as err:  # any decoder or I/O failure is a finding, not a crash
        return f'{path}: {type(err).__name__}: {err}'
    return None


def initialise_lazily(dataset_cfg) -> None:
    """Set ``lazy_init`` on a dataset config and on those it wraps: :func:`data_records` initialises them."""
    dataset_cfg['lazy_init'] = True
    for inner in dataset_cfg.get('datasets', [dataset_cfg['dataset']] if 'dataset' in dataset_cfg else []):
        initialise_lazily(inner)


def data_records(dataset) -> List[dict]:
    """Every record of a dataset config, through wrappers (RepeatDataset, ConcatDataset, ...)."""
    if hasattr(dataset, 'datasets'):
        return [r for d in dataset.datasets for r in data_records(d)]
    if hasattr(dataset, 'dataset'):
        return data_records(dataset.dataset)
    dataset.serialize_data = False  # mmengine cannot serialize an empty list: main() explains an empty set
    dataset.full_init()
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.utils import track_parallel_progress
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmattn.utils.data_check import find_missing_data
    loaders = [f'{split}_dataloader' for split in args.split if cfg.get(f'{split}_dataloader')]
    missing = find_missing_data(cfg, loaders)
    if missing:
        sys.exit(missing)
    records, seen = [], set()
    for loader in loaders:
        initialise_lazily(cfg[loader].dataset)
        loader_records = data_records(DATASETS.build(cfg[loader].dataset))
        if not loader_records:
            sys.exit(f'{loader}: the dataset holds no samples. Check its data_root and annotation file; for a COCO '
                     "file, its categories must carry the config's class names (metainfo.classes), or every image "
                     'is filtered out.')
        for record in loader_records:
            if record['img_path'] not in seen:
                seen.add(record['img_path'])
                records.append(record)
    print(f'Checking {len(records)} images (and their annotation files) of {", ".join(loaders)}', flush=True)
    results = track_parallel_progress(check_record, records, nproc=args.num_process)
    bad = [r for r in results if r]
    if not bad:
        print(f'All {len(records)} records can be read.')
        return
    with open(args.out_path, 'w') as file:
        file.write('\n'.join(bad) + '\n')
    sys.exit(f'{len(bad)} of {len(records)} records cannot be read (listed in {args.out_path}):\n  ' +
             '\n  '.join(bad[:20]) + ('\n  ...' if len(bad) > 20 else ''))


if __name__ == '__main__':
    main()
