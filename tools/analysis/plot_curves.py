"""Plot the training curves of one or more runs of any task (as mmpretrain's ``analyze_logs.py plot_curve``):

    python tools/analysis/plot_curves.py WORK_DIR [WORK_DIR ...] [--keys loss loss_cls ...] [--out curves.png]

Each WORK_DIR (or a vis_data/scalars.json file) becomes one row: its losses (or --keys) against the iteration,
and its evaluation metrics on a second axis when it was evaluated more than once.
"""
import argparse
import os.path as osp
import sys

from mmattn.utils.curves import plot_runs, read_scalars


def main(argv=None):
    parser = argparse.ArgumentParser(description='Plot training curves from work dirs')
    parser.add_argument('runs', nargs='+', help='work dirs of tools/train.py (or their scalars.json files)')
    parser.add_argument('--keys', nargs='+', help='the logged values to draw. Defaults to every loss')
    parser.add_argument('--title', help='a title over the figure')
    parser.add_argument('--out', default='curves.png', help="the PNG to write. Defaults to 'curves.png'")
    args = parser.parse_args(argv)
    try:
        runs = [(osp.basename(osp.normpath(path)), read_scalars(path), args.keys) for path in args.runs]
    except FileNotFoundError as err:
        sys.exit(str(err))
    unknown = [key for key in args.keys or [] if not any(key in r for _, records, _ in runs for r in records)]
    if unknown:
        sys.exit(f'--keys: {unknown} were never logged (logged: '
                 f'{sorted({k for _, records, _ in runs for r in records for k in r})})')
    print(f'Curves of {len(runs)} run(s) written to {plot_runs(runs, args.out, args.title)}')


if __name__ == '__main__':
    main()
