"""Draw what the attention layers of a model do on one image, one PNG per layer.

    python tools/visualization/vis_attention.py IMAGE MODEL [--checkpoint CKPT] [--query Y X ...]
        [--layers REGEX] [--out-dir DIR]

DAT: each offset group's key offsets (reference -> sampling point) and the query's most attended sampling
points. DaViT: the query's window attention in each head, and each channel-attention layer's channel-to-channel
matrices. DilateFormer: the query's dilated neighbourhood in each dilation group, coloured by weight.
MODEL is a model name (mmattn.list_models()) or a config; any task's config works (only the backbone runs).
"""
import argparse
import os
import os.path as osp
import sys

from mmattn.apis import add_image_and_model_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the attention of each layer on one image')
    add_image_and_model_arguments(parser)
    parser.add_argument('--query', nargs=2, type=float, action='append', metavar=('Y', 'X'),
                        help='a query point in image pixels (repeatable). Defaults to the image centre')
    parser.add_argument('--layers', help='only layers whose module name matches this regex, e.g. "stages.2"')
    parser.add_argument('--out-dir', default='vis_attention', help='where the PNGs go. Defaults to vis_attention')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmattn.apis import image_and_model_or_exit
    from mmattn.visualization import draw_attention
    image, model = image_and_model_or_exit(args)
    queries = args.query or [(image.shape[0] / 2, image.shape[1] / 2)]
    outside = [q for q in queries if not (0 <= q[0] < image.shape[0] and 0 <= q[1] < image.shape[1])]
    if outside:
        sys.exit(f'--query {outside[0][0]:g} {outside[0][1]:g}: outside the {image.shape[0]}x{image.shape[1]} '
                 '(height x width) image')
    os.makedirs(args.out_dir, exist_ok=True)
    paths = draw_attention(model, image, queries, osp.join(args.out_dir, ''), args.layers)
    if not paths:
        sys.exit(f'no attention layer of {type(model.backbone).__name__} matches --layers {args.layers!r}')
    print('\n'.join(paths))


if __name__ == '__main__':
    main()
